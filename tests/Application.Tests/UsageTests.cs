using System.Runtime.CompilerServices;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Tests;

/// <summary>Each answer records the tokens of the model call that produced it; the call sums them and prices them.</summary>
public sealed class UsageTests
{
    private const string NovaLite = "us.amazon.nova-lite-v1:0";

    [Fact]
    public async Task Every_round_records_its_tokens_on_its_message_and_the_call_sums_them_at_the_configured_prices()
    {
        var prices = new Dictionary<string, string?>
        {
            ["Pricing:Models:0:Profile"] = "amazon.nova-lite-v1:0",
            ["Pricing:Models:0:InputPerMillion"] = "0.06",
            ["Pricing:Models:0:OutputPerMillion"] = "0.24",
            ["Pricing:Models:0:CacheReadPerMillion"] = "0.015",
        };
        var pickup = new FakeTool("lookup_status", idempotent: true, (_, _) => Task.FromResult(new ToolOutcome("{\"minutes\":20}")));
        await using var harness = new Harness(prices, Harness.PizzaUseCase(["lookup_status"]), pickup);
        harness.Model
            .Then((_, ct) => Answer(new ModelUsage(1000, 20, CacheReadInputTokens: 4000), new ToolUseRequested("t1", "lookup_status", "{}"), NovaLite, ct))
            .Then((_, ct) => Answer(new ModelUsage(50, 10, CacheReadInputTokens: 5000), new TextDelta("Twenty minutes."), NovaLite, ct));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "When is it ready?", Last: true, Lang: null));
        await call.IdleAsync();

        var messages = call.Conversation.Messages;
        Assert.Equal(new TokenUsage(1000, 20, 4000), messages[1].Usage);
        Assert.Null(messages[2].Usage); // the tool results
        Assert.Equal(new TokenUsage(50, 10, 5000), messages[3].Usage);
        Assert.Equal(new TokenUsage(1050, 30, 9000), call.Call.Usage);
        var expected = ((1050 * 0.06m) + (30 * 0.24m) + (9000 * 0.015m)) / 1_000_000m;
        Assert.Equal(expected, call.Call.CostUsd);
    }

    [Fact]
    public async Task An_unpriced_profile_counts_tokens_but_no_cost()
    {
        await using var harness = new Harness();
        harness.Model.Then((_, ct) => Answer(new ModelUsage(100, 10), new TextDelta("Hi."), "some.unpriced-model", ct));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Hello", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Equal((new TokenUsage(100, 10), 0m), (call.Call.Usage, call.Call.CostUsd));
    }

    private static async IAsyncEnumerable<ModelStreamEvent> Answer(
        ModelUsage usage, ModelStreamEvent content, string profile, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        ct.ThrowIfCancellationRequested();
        yield return content;
        yield return new ModelCompleted(content is ToolUseRequested ? ModelStopReason.ToolUse : ModelStopReason.EndTurn, usage) { Profile = profile };
    }
}
