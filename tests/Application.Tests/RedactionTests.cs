using Microsoft.Extensions.Hosting;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Relay.DtmfReceived;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

/// <summary>What a caller reads out (card numbers, SSNs, the use case's own patterns) never reaches the model or the store.</summary>
public sealed class RedactionTests
{
    private static readonly TimeSpan Stable = TimeSpan.FromMilliseconds(120);

    private static readonly string[] CardDigits = ["4111", "1111 1111", "4111111111111111"];

    [Fact]
    public async Task A_card_number_read_out_over_partial_prompts_reaches_neither_the_model_nor_the_store()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        await writer.StartAsync(CancellationToken.None);
        harness.Model
            .ThenSays("(superseded)")
            .ThenSays("(superseded)")
            .ThenSays("For your safety, please don't read card numbers out. I'll pass you to our secure line.")
            .ThenSays("Sure.");
        var call = await harness.StartAsync();

        // Twilio's partial prompts: the utterance so far, the number arriving a few digits at a time.
        string[] partials =
        [
            "My card number is",
            "My card number is 4111",
            "My card number is 4111 1111 1111",
            "My card number is 4111 1111 1111 1111",
        ];
        foreach (var partial in partials)
        {
            await harness.Sender.Send(new PromptReceived(call.CallSid, partial, Last: false, Lang: null));
            await call.IdleAsync();
            Assert.DoesNotContain("4111", call.Preview, StringComparison.Ordinal);
            harness.Time.Advance(Stable); // long enough for each to start a preemptive answer
            await Task.Delay(20);
            await call.IdleAsync();
        }

        await harness.Sender.Send(new PromptReceived(call.CallSid, "My card number is 4111 1111 1111 1111.", Last: true, Lang: null));
        await call.IdleAsync();
        await harness.Sender.Send(new PromptReceived(call.CallSid, "Okay, my social is one two three, four five, six seven eight nine.", Last: true, Lang: null));
        await call.IdleAsync();
        await writer.StopAsync(CancellationToken.None);

        // Each changed, stable partial started a preemptive answer (the withheld number reads the same until it is whole);
        // the final matched the last one (a hit), so it was not asked again.
        Assert.Equal(
            ["My card number is", "My card number is [number]", "My card number is [card number]", "Okay, my social is [social security number]."],
            harness.Model.Requests.Select(r => r.Messages[^1].Text));
        var sentToModel = harness.Model.Requests.SelectMany(r => r.Messages).Select(m => m.Text).ToList();
        Assert.Contains("My card number is [card number].", sentToModel);
        Assert.Contains("Okay, my social is [social security number].", sentToModel);
        Assert.All(sentToModel, text => Assert.DoesNotContain(CardDigits, digits => text.Contains(digits, StringComparison.Ordinal)));
        Assert.All(sentToModel, text => Assert.DoesNotContain("seven eight nine", text, StringComparison.Ordinal));

        var stored = await harness.Calls.GetMessagesAsync(call.CallSid, CancellationToken.None);
        Assert.Equal(
            ["My card number is [card number].", "For your safety, please don't read card numbers out. I'll pass you to our secure line.", "Okay, my social is [social security number].", "Sure."],
            stored.Select(m => m.Text));
    }

    [Fact]
    public async Task A_use_case_pattern_and_a_card_number_keyed_in_are_redacted_too()
    {
        var useCase = new UseCase(
            "insurance",
            "Insurance",
            "You help with insurance policies.",
            new RelaySettings(),
            new ModelSettings(),
            redact: [new RedactionRule("policy number", @"\bPN-?\d{6}\b")]);
        await using var harness = new Harness(useCase);
        harness.Model.ThenSays("Thanks.").ThenSays("Got it.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "My policy is PN-123456.", Last: true, Lang: null));
        await call.IdleAsync();
        foreach (var key in "4111111111111111")
        {
            await harness.Sender.Send(new DtmfReceived(call.CallSid, key.ToString()));
        }

        await call.IdleAsync();

        Assert.Equal("My policy is [policy number].", harness.Model.Requests[0].Messages[^1].Text);
        Assert.Equal("(The caller keyed in [card number] on the keypad.)", harness.Model.Requests[1].Messages[^1].Text);
        Assert.All(call.Conversation.Messages, m => Assert.DoesNotContain("4111", m.Text, StringComparison.Ordinal));
    }
}
