using System.Runtime.CompilerServices;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.DtmfReceived;
using VoiceAgent.Application.Relay.Interrupted;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

/// <summary>The call's loop: one reader owns the conversation; its timers run on the injected clock.</summary>
public sealed class CallLoopTests
{
    [Fact]
    public async Task A_turn_that_ignores_cancellation_is_closed_after_the_supersede_wait_and_its_late_words_are_neither_heard_nor_recorded()
    {
        await using var harness = new Harness();
        var deaf = new TaskCompletionSource();
        var speakLate = new TaskCompletionSource();
        var spokeLate = new TaskCompletionSource();
        harness.Model.Then((_, _) => IgnoresCancellation(deaf, speakLate.Task, spokeLate)).ThenSays("A large one, got it.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A pizza", true, null));
        await deaf.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var stuck = call.CurrentTurn!;
        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large one", true, null));
        await WaitUntilAsync(() => stuck.IsCancelled);

        // The new turn waits for the stuck one until the clock passes Conversation:SupersedeWait (2 s).
        harness.Time.Advance(TimeSpan.FromSeconds(1.9));
        await Task.Delay(50);
        Assert.Single(harness.Model.Requests);
        harness.Time.Advance(TimeSpan.FromSeconds(0.1));
        await WaitUntilAsync(() => harness.Model.Requests.Count == 2);
        await call.IdleAsync();
        speakLate.SetResult();
        await spokeLate.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await call.IdleAsync();

        Assert.Single(harness.Output.Sent, s => s.Turn == stuck);

        Assert.Equal("Hmm.A large one, got it.", harness.Output.HeardText);
        Assert.Equal(["A pizza", "Hmm.", "A large one", "A large one, got it."], call.Conversation.Messages.SelectMany(m => m.Content).OfType<Domain.Conversations.TextBlock>().Select(t => t.Text));
    }

    [Fact]
    public async Task Prompts_that_arrive_while_a_turn_winds_down_are_joined_into_the_next_turn()
    {
        await using var harness = new Harness();
        var asked = new TaskCompletionSource();
        var windDown = new TaskCompletionSource();
        harness.Model.Then((_, _) => WindsDownWhenReleased(asked, windDown.Task)).ThenSays("Two large, got it.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Pizza", true, null));
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await harness.Sender.Send(new PromptReceived(call.CallSid, "two", true, null));
        await harness.Sender.Send(new PromptReceived(call.CallSid, "large ones", true, null));
        windDown.SetResult();
        await call.IdleAsync();

        Assert.Equal(2, harness.Model.Requests.Count);
        Assert.Equal(["Pizza", "two large ones"], harness.Model.Requests[1].Messages[0].Content.OfType<Domain.Conversations.TextBlock>().Select(t => t.Text));
    }

    [Fact]
    public async Task After_the_hand_over_no_input_starts_a_turn()
    {
        var dtmf = new Dictionary<string, DtmfAction> { ["1"] = new DtmfReply("One.") };
        await using var harness = new Harness(Harness.PizzaUseCase(dtmf: dtmf));
        var call = await harness.StartAsync();

        await call.HandOverAsync();
        await harness.Sender.Send(new PromptReceived(call.CallSid, "Hello?", true, null));
        await harness.Sender.Send(new DtmfReceived(call.CallSid, "1"));
        await harness.Sender.Send(new DtmfReceived(call.CallSid, "#"));
        await call.IdleAsync();

        Assert.Empty(harness.Model.Requests);
        Assert.Empty(harness.Output.Sent);
        Assert.Empty(call.Conversation.Messages);
    }

    [Fact]
    public async Task The_session_end_closes_the_running_turn_with_what_was_heard_and_stops_the_loop()
    {
        await using var harness = new Harness();
        var release = new TaskCompletionSource();
        harness.Model.Then((_, ct) => SaysThenWaits("We open at eleven", release.Task, ct));
        var call = await harness.StartAsync();
        await harness.Sender.Send(new PromptReceived(call.CallSid, "When do you open?", true, null));
        await harness.Output.WaitForAsync(o => o.Heard.Count == 1);
        await harness.Sender.Send(new Interrupted(call.CallSid, "We open", 400));

        call.Close();
        await call.Completion.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Null(call.CurrentTurn);
        Assert.Equal(["When do you open?", "We open"], call.Conversation.Messages.Select(m => m.Text));
        Assert.False(call.Post(new Conversations.CallInput.Prompt("Anyone there?", true, 0)));
    }

    private static async IAsyncEnumerable<ModelStreamEvent> IgnoresCancellation(TaskCompletionSource asked, Task speakLate, TaskCompletionSource spokeLate)
    {
        yield return new TextDelta("Hmm.");
        asked.SetResult();
        await speakLate;
        try
        {
            yield return new TextDelta(" Where was I?");
            yield return new ModelCompleted(ModelStopReason.EndTurn);
        }
        finally
        {
            spokeLate.SetResult();
        }
    }

    private static async IAsyncEnumerable<ModelStreamEvent> WindsDownWhenReleased(TaskCompletionSource asked, Task released)
    {
        asked.SetResult();
        await released;
        yield break;
    }

    private static async IAsyncEnumerable<ModelStreamEvent> SaysThenWaits(string text, Task release, [EnumeratorCancellation] CancellationToken ct)
    {
        yield return new TextDelta(text);
        await release.WaitAsync(ct);
        yield return new ModelCompleted(ModelStopReason.EndTurn);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "condition not reached");
    }
}
