using System.Runtime.CompilerServices;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Relay.Interrupted;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

/// <summary>
/// Preemptive answers: the model starts on a partial prompt that stayed the same for Conversation:PreemptAfter, its
/// answer held (nothing spoken, no tool run, no history change) until the final prompt confirms the words.
/// </summary>
public sealed class PreemptionTests
{
    private static readonly TimeSpan Stable = TimeSpan.FromMilliseconds(120);

    [Fact]
    public async Task A_stable_partial_starts_the_model_and_a_matching_final_releases_its_held_answer_without_asking_again()
    {
        await using var harness = new Harness();
        harness.Model.ThenSays("A large ", "pepperoni, ", "coming up.");
        var call = await harness.StartAsync();

        await HoldAsync(harness, call, "Um, a large pepperoni please", requests: 1);
        await Task.Delay(50); // the held answer has streamed meanwhile: still nothing is spoken or recorded
        await call.IdleAsync();

        Assert.Empty(harness.Output.Heard);
        Assert.Empty(call.Conversation.Messages);
        Assert.Equal("Um, a large pepperoni please", harness.Model.Requests[0].Messages[^1].Text);

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large pepperoni, please.", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Single(harness.Model.Requests);
        Assert.Equal("A large pepperoni, coming up.", harness.Output.HeardText);
        Assert.True(harness.Output.Heard[^1].Last);
        Assert.Equal(["A large pepperoni, please.", "A large pepperoni, coming up."], call.Conversation.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task A_final_with_other_words_cancels_the_held_answer_and_asks_afresh()
    {
        var cancelled = new TaskCompletionSource();
        await using var harness = new Harness();
        harness.Model
            .Then((_, ct) => Gated(new TaskCompletionSource(), cancelled, "A large pepperoni.", ct))
            .ThenSays("A small margherita.");
        var call = await harness.StartAsync();

        await HoldAsync(harness, call, "A large pepperoni", requests: 1);
        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large pepperoni. No wait, a small margherita.", Last: true, Lang: null));
        await call.IdleAsync();

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(2, harness.Model.Requests.Count);
        Assert.Equal("A large pepperoni. No wait, a small margherita.", harness.Model.Requests[1].Messages[^1].Text);
        Assert.Equal("A small margherita.", harness.Output.HeardText);
    }

    [Fact]
    public async Task A_tool_use_in_a_held_answer_runs_only_after_the_final_confirms_it()
    {
        var order = new FakeTool("submit_request", idempotent: false, (_, _) => Task.FromResult(new ToolOutcome("{\"orderId\":\"O-7\"}")));
        await using var harness = new Harness(Harness.PizzaUseCase(["submit_request"]), order);
        harness.Model
            .Then((_, ct) => ScriptedModel.ToolUse("submit_request", "{\"item\":\"pepperoni\"}", ct))
            .ThenSays("Order O-7 is in.");
        var call = await harness.StartAsync();

        await HoldAsync(harness, call, "Place the order", requests: 1);
        await Task.Delay(50);
        await call.IdleAsync();
        Assert.Equal(0, order.Invocations);
        Assert.Empty(call.Conversation.Messages);

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Place the order.", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Equal(1, order.Invocations);
        Assert.Equal("Order O-7 is in.", harness.Output.HeardText);
        Assert.Equal(4, call.Conversation.Messages.Count);
    }

    [Fact]
    public async Task A_tool_use_in_an_unconfirmed_held_answer_never_runs()
    {
        var order = new FakeTool("submit_request", idempotent: false, (_, _) => Task.FromResult(new ToolOutcome("{\"orderId\":\"O-7\"}")));
        await using var harness = new Harness(Harness.PizzaUseCase(["submit_request"]), order);
        harness.Model
            .Then((_, ct) => ScriptedModel.ToolUse("submit_request", "{}", ct))
            .ThenSays("What would you like instead?");
        var call = await harness.StartAsync();

        await HoldAsync(harness, call, "Place the order", requests: 1);
        await harness.Sender.Send(new PromptReceived(call.CallSid, "Place the order? No, don't.", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Equal(0, order.Invocations);
        Assert.Equal("What would you like instead?", harness.Output.HeardText);
    }

    [Fact]
    public async Task The_caller_going_on_drops_the_held_answer_and_the_new_words_are_held_once_stable()
    {
        var cancelled = new TaskCompletionSource();
        await using var harness = new Harness();
        harness.Model
            .Then((_, ct) => Gated(new TaskCompletionSource(), cancelled, "Which size?", ct))
            .ThenSays("A large one, sure.");
        var call = await harness.StartAsync();

        await HoldAsync(harness, call, "A pepperoni", requests: 1);
        await harness.Sender.Send(new PromptReceived(call.CallSid, "A pepperoni, large", Last: false, Lang: null));
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await call.IdleAsync(); // the partial is in, its wait armed on the fake clock
        harness.Time.Advance(Stable);
        await WaitForRequestsAsync(harness, 2);
        await harness.Sender.Send(new PromptReceived(call.CallSid, "A pepperoni, large.", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Equal(2, harness.Model.Requests.Count);
        Assert.Equal("A large one, sure.", harness.Output.HeardText);
    }

    [Fact]
    public async Task A_barge_in_drops_the_held_answer()
    {
        var cancelled = new TaskCompletionSource();
        await using var harness = new Harness();
        harness.Model.Then((_, ct) => Gated(new TaskCompletionSource(), cancelled, "Never heard.", ct));
        var call = await harness.StartAsync();

        await HoldAsync(harness, call, "Hold on", requests: 1);
        await harness.Sender.Send(new Interrupted(call.CallSid, "", 300));

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await call.IdleAsync();
        Assert.Empty(harness.Output.Heard);
    }

    [Fact]
    public async Task A_use_case_without_preemption_waits_for_the_final_prompt()
    {
        var useCase = new UseCase("pizza", "Pizza", "You take pizza orders.", new RelaySettings(), new ModelSettings { Preemptive = false });
        await using var harness = new Harness(useCase);
        harness.Model.ThenSays("Sure.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large pepperoni", Last: false, Lang: null));
        await call.IdleAsync();
        harness.Time.Advance(Stable * 10);
        await Task.Delay(50);
        await call.IdleAsync();
        Assert.Empty(harness.Model.Requests);

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large pepperoni.", Last: true, Lang: null));
        await call.IdleAsync();
        Assert.Equal("Sure.", harness.Output.HeardText);
    }

    /// <summary>Speaks <paramref name="words"/> as a partial that then stays the same, until the model has been asked <paramref name="requests"/> times.</summary>
    private static async Task HoldAsync(Harness harness, ActiveCall call, string words, int requests)
    {
        await harness.Sender.Send(new PromptReceived(call.CallSid, words, Last: false, Lang: null));
        await call.IdleAsync(); // the partial is in, its wait armed on the fake clock
        harness.Time.Advance(Stable);
        await WaitForRequestsAsync(harness, requests);
    }

    private static async Task WaitForRequestsAsync(Harness harness, int count)
    {
        for (var i = 0; i < 500; i++)
        {
            lock (harness.Model.Requests)
            {
                if (harness.Model.Requests.Count >= count)
                {
                    return;
                }
            }

            await Task.Delay(10);
        }

        Assert.Fail($"the model was asked {harness.Model.Requests.Count} times, not {count}");
    }

    /// <summary>Waits for <paramref name="gate"/> before answering; sets <paramref name="cancelled"/> when its call is cancelled.</summary>
    private static async IAsyncEnumerable<ModelStreamEvent> Gated(TaskCompletionSource gate, TaskCompletionSource cancelled, string text, [EnumeratorCancellation] CancellationToken ct)
    {
        try
        {
            await gate.Task.WaitAsync(ct);
        }
        finally
        {
            if (ct.IsCancellationRequested)
            {
                cancelled.TrySetResult();
            }
        }

        yield return new TextDelta(text);
        yield return new ModelCompleted(ModelStopReason.EndTurn);
    }
}
