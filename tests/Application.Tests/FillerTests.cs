using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.PromptReceived;

namespace VoiceAgent.Application.Tests;

public sealed class FillerTests
{
    [Fact]
    public async Task A_slow_tool_gets_one_filler_line_and_a_fast_one_none()
    {
        var slowStarted = new TaskCompletionSource();
        var finish = new TaskCompletionSource();
        var slow = new FakeTool("slow_lookup", idempotent: true, async (_, ct) =>
        {
            slowStarted.TrySetResult();
            await finish.Task.WaitAsync(ct);
            return new ToolOutcome("{\"minutes\":20}");
        });
        var fast = new FakeTool("fast_lookup", idempotent: true, (_, _) => Task.FromResult(new ToolOutcome("{}")));
        await using var harness = new Harness(Harness.PizzaUseCase(["slow_lookup", "fast_lookup"]), slow, fast);
        harness.Model
            .Then((_, ct) => ScriptedModel.ToolUse("fast_lookup", "{}", ct))
            .ThenSays("Quick answer.")
            .Then((_, ct) => ScriptedModel.ToolUse("slow_lookup", "{}", ct))
            .ThenSays("Twenty minutes.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Fast please", true, null));
        await call.IdleAsync();
        Assert.Equal("Quick answer.", harness.Output.HeardText);

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Slow please", true, null));
        await slowStarted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 100 && !harness.Output.HeardText.Contains("One moment", StringComparison.Ordinal); i++)
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(200));
            await Task.Delay(10);
        }

        finish.SetResult();
        await call.IdleAsync();

        Assert.Equal("Quick answer.One moment. Twenty minutes.", harness.Output.HeardText);
        Assert.Equal("One moment. Twenty minutes.", call.Conversation.Last!.Text);
    }
}
