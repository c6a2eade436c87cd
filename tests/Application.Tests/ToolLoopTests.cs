using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.Interrupted;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Tests;

public sealed class ToolLoopTests
{
    private const string PickupTime = "lookup_status";
    private const string PlaceOrder = "submit_request";

    [Fact]
    public async Task Tool_uses_run_in_parallel_and_their_results_go_back_to_the_model()
    {
        var started = 0;
        var bothRunning = new TaskCompletionSource();
        async Task<ToolOutcome> Run(string result)
        {
            if (Interlocked.Increment(ref started) == 2)
            {
                bothRunning.SetResult();
            }

            await bothRunning.Task.WaitAsync(TimeSpan.FromSeconds(5));
            return new ToolOutcome(result);
        }

        var pickup = new FakeTool("lookup_status", idempotent: true, (_, _) => Run("{\"minutes\":20}"));
        var order = new FakeTool("submit_request", idempotent: false, (_, _) => Run("{\"orderId\":\"O-1\"}"));
        await using var harness = new Harness(Harness.PizzaUseCase([PickupTime, PlaceOrder]), pickup, order);
        harness.Model
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.ToolUse, ct, new TextDelta("One moment. "), Use("t1", "lookup_status"), Use("t2", "submit_request")))
            .ThenSays("Order O-1 is ready in twenty minutes.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "One margherita for pickup", true, null));
        await call.IdleAsync();

        Assert.Equal((1, 1), (pickup.Invocations, order.Invocations));
        var messages = call.Conversation.Messages;
        Assert.Equal(4, messages.Count);
        Assert.Equal("One moment.", messages[1].Text);
        Assert.Equal(["t1", "t2"], messages[1].ToolUses.Select(u => u.ToolUseId));
        Assert.Equal(["{\"minutes\":20}", "{\"orderId\":\"O-1\"}"], messages[2].ToolResults.Select(r => r.Content));
        Assert.Equal("Order O-1 is ready in twenty minutes.", messages[3].Text);

        var second = harness.Model.Requests[1];
        Assert.Equal(3, second.Messages.Count);
        Assert.All(second.Messages[2].ToolResults, r => Assert.Equal(ToolResultStatus.Success, r.Status));
        Assert.Equal("One moment. Order O-1 is ready in twenty minutes.", harness.Output.HeardText);
    }

    [Fact]
    public async Task Unknown_disallowed_throwing_and_slow_tools_give_error_results_and_the_conversation_stays_valid()
    {
        var secret = new FakeTool("secret_tool", idempotent: true, (_, _) => Task.FromResult(new ToolOutcome("should not run")));
        var broken = new FakeTool("lookup_status", idempotent: true, (_, _) => throw new InvalidOperationException("kitchen API down"));
        var slow = new FakeTool("submit_request", idempotent: true, async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return new ToolOutcome("never");
        });
        var noFiller = new Dictionary<string, string?> { ["Conversation:FillerAfter"] = "00:00:00" };
        await using var harness = new Harness(noFiller, Harness.PizzaUseCase([PickupTime, PlaceOrder]), secret, broken, slow);
        harness.Model
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.ToolUse, ct, Use("a", "secret_tool"), Use("b", "lookup_status"), Use("c", "submit_request"), Use("d", "no_such_tool")))
            .ThenSays("Sorry, I can't check that right now.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "When is it ready?", true, null));

        // The tool timeout runs on the injected clock: the slow tool is stopped when the clock passes it.
        for (var i = 0; i < 500 && Volatile.Read(ref slow.Invocations) == 0; i++)
        {
            await Task.Delay(10);
        }

        harness.Time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.Single(harness.Model.Requests);
        harness.Time.Advance(TimeSpan.FromSeconds(0.1));
        await call.IdleAsync();

        Assert.Equal(0, secret.Invocations);
        var results = call.Conversation.Messages[2].ToolResults.ToDictionary(r => r.ToolUseId);
        Assert.All(results.Values, r => Assert.Equal(ToolResultStatus.Error, r.Status));
        Assert.Contains("not available", results["a"].Content, StringComparison.Ordinal);
        Assert.Contains("kitchen API down", results["b"].Content, StringComparison.Ordinal);
        Assert.Contains("too long", results["c"].Content, StringComparison.Ordinal);
        Assert.Contains("not available", results["d"].Content, StringComparison.Ordinal);
        Assert.Equal("Sorry, I can't check that right now.", call.Conversation.Last!.Text);
    }

    [Fact]
    public async Task Barge_in_cancels_read_tools_but_side_effects_complete_and_are_recorded()
    {
        var orderStarted = new TaskCompletionSource();
        var finishOrder = new TaskCompletionSource();
        var pickup = new FakeTool("lookup_status", idempotent: true, async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return new ToolOutcome("never");
        });
        var order = new FakeTool("submit_request", idempotent: false, async (_, ct) =>
        {
            orderStarted.SetResult();
            await finishOrder.Task.WaitAsync(ct);
            return new ToolOutcome("{\"orderId\":\"O-7\"}");
        });
        await using var harness = new Harness(Harness.PizzaUseCase([PickupTime, PlaceOrder]), pickup, order);
        harness.Model.Then((_, ct) => ScriptedModel.Events(ModelStopReason.ToolUse, ct, Use("r", "lookup_status"), Use("w", "submit_request")));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Place it", true, null));
        await orderStarted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var turn = call.CurrentTurn!;
        await harness.Sender.Send(new Interrupted(call.CallSid, string.Empty, 100));
        finishOrder.SetResult();
        await call.IdleAsync();
        Assert.True(turn.IsCancelled);

        var results = call.Conversation.Messages[2].ToolResults.ToDictionary(r => r.ToolUseId);
        Assert.Equal(ToolResultStatus.Error, results["r"].Status);
        Assert.Equal(("{\"orderId\":\"O-7\"}", ToolResultStatus.Success), (results["w"].Content, results["w"].Status));
        Assert.Empty(call.Conversation.PendingToolUses);
    }

    [Fact]
    public async Task Too_many_tool_rounds_end_with_the_apology_and_a_valid_history()
    {
        var pickup = new FakeTool("lookup_status", idempotent: true, (_, _) => Task.FromResult(new ToolOutcome("20")));
        await using var harness = new Harness(Harness.PizzaUseCase([PickupTime], maxToolRounds: 1), pickup);
        harness.Model
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.ToolUse, ct, Use("1", "lookup_status")))
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.ToolUse, ct, Use("2", "lookup_status")));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Loop", true, null));
        await call.IdleAsync();

        Assert.Equal(1, pickup.Invocations);
        Assert.Empty(call.Conversation.PendingToolUses);
        Assert.Equal(ConversationRole.Assistant, call.Conversation.Last!.Role);
        Assert.Equal("Sorry, say that again?", call.Conversation.Last.Text);
        Assert.True(harness.Output.Heard[^1].Last);
    }

    private static ToolUseRequested Use(string id, string name) => new(id, name, "{\"size\":\"large\",\"note\":\"100% cheese\"}");
}
