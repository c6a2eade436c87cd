using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

public sealed class SilenceTests
{
    private static readonly SilenceSettings Silence = new(TimeSpan.FromSeconds(10), "Are you still there?", "Goodbye for now!");

    [Fact]
    public async Task Silence_gets_one_reprompt_then_a_goodbye_and_the_end_of_the_call()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(silence: Silence));
        var call = await harness.StartAsync();

        harness.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.Null(call.CurrentTurn);
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        await call.IdleAsync();
        Assert.Equal("Are you still there?", harness.Output.HeardText);

        await WaitUntilAsync(() => AdvanceAndCheck(harness, () => harness.Output.Sent.Any(s => s.Message is EndRelay)));
        Assert.Equal("Are you still there?Goodbye for now!", harness.Output.HeardText);
        Assert.IsType<EndRelay>(harness.Output.Sent[^1].Message);
        Assert.Empty(harness.Model.Requests);
    }

    [Fact]
    public async Task Speaking_resets_the_countdown_and_the_count()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(silence: Silence));
        harness.Model.ThenSays("Sure.").ThenSays("Of course.");
        var call = await harness.StartAsync();

        harness.Time.Advance(TimeSpan.FromSeconds(10));
        await call.IdleAsync();
        await harness.Sender.Send(new PromptReceived(call.CallSid, "Yes, a pizza", true, null));
        await call.IdleAsync();
        await WaitUntilAsync(() => AdvanceAndCheck(harness, () => harness.Output.HeardText.EndsWith("Are you still there?", StringComparison.Ordinal)));

        // After the caller spoke, the next silence is a reprompt again, not the goodbye.
        Assert.Equal("Are you still there?Sure.Are you still there?", harness.Output.HeardText);
        Assert.DoesNotContain(harness.Output.Sent, s => s.Message is EndRelay);
    }

    private static bool AdvanceAndCheck(Harness harness, Func<bool> condition)
    {
        if (condition())
        {
            return true;
        }

        harness.Time.Advance(TimeSpan.FromSeconds(1));
        return condition();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "condition not reached");
    }
}
