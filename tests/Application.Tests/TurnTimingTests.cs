using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.Interrupted;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Application.Relay.RelayEventReceived;

namespace VoiceAgent.Application.Tests;

/// <summary>Each turn records where its time went, on the answer it closes with (text frames are timed by the transport: see RelayTests).</summary>
public sealed class TurnTimingTests
{
    [Fact]
    public async Task A_turn_records_its_model_request_first_model_token_tools_profile_fallbacks_and_twilios_frames()
    {
        var lookup = new FakeTool("check_pickup_time", idempotent: true, (_, _) => Task.FromResult(new ToolOutcome("{\"minutes\":15}")));
        await using var harness = new Harness(Harness.PizzaUseCase(["check_pickup_time"]), lookup);
        harness.Model
            .Then((_, ct) => Timed(harness.Time, 300, new ToolUseRequested("t-1", "check_pickup_time", "{}"), ct))
            .Then((_, ct) => Timed(harness.Time, 200, new TextDelta("About fifteen minutes."), ct));
        var call = await harness.StartAsync();

        // Between turns: recorded with the next turn.
        await harness.Sender.Send(new RelayEventReceived(call.CallSid, "info", "name=roundTripDelayMs value=120"));
        await harness.Sender.Send(new PromptReceived(call.CallSid, "How long for pickup?", Last: true, Lang: null, ReceivedAt: harness.Time.GetTimestamp()));
        await call.IdleAsync();

        var timings = call.Conversation.Messages[^1].Timings!.Value;
        Assert.Equal("About fifteen minutes.", call.Conversation.Messages[^1].Text);
        Assert.Equal(0, timings.ModelRequestMs);
        Assert.Equal(300, timings.FirstModelTokenMs);
        Assert.Equal((2, 1), (timings.ModelRounds, timings.ToolCalls));
        Assert.Equal(("us.anthropic.claude-haiku-4-5", 2), (timings.Profile, timings.Fallbacks)); // one passed over in each round
        Assert.Equal(["info: name=roundTripDelayMs value=120"], timings.RelayEvents);
        Assert.Null(timings.InterruptedMs);
        Assert.Null(call.Conversation.Messages[1].Timings); // the tool-use message: the turn's timings go on its closing answer
    }

    [Fact]
    public async Task A_barge_in_is_timed_from_the_prompt_whether_the_answer_is_streaming_or_done()
    {
        var gate = new TaskCompletionSource();
        await using var harness = new Harness();
        harness.Model
            .Then((_, ct) => Waiting(gate, ct))
            .ThenSays("Sure, a large one.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A pepperoni", Last: true, Lang: null, ReceivedAt: harness.Time.GetTimestamp()));
        await harness.Output.WaitForAsync(o => o.HeardText.Length > 0);
        harness.Time.Advance(TimeSpan.FromMilliseconds(450));
        await harness.Sender.Send(new Interrupted(call.CallSid, "Which", 450));
        await call.IdleAsync();
        Assert.Equal(450, call.Conversation.Messages[^1].Timings!.Value.InterruptedMs);

        // The next answer is complete (Twilio is still speaking it) when the caller cuts in.
        await harness.Sender.Send(new PromptReceived(call.CallSid, "Large", Last: true, Lang: null, ReceivedAt: harness.Time.GetTimestamp()));
        await call.IdleAsync();
        harness.Time.Advance(TimeSpan.FromMilliseconds(900));
        await harness.Sender.Send(new Interrupted(call.CallSid, "Sure, a", 900));
        await call.IdleAsync();

        Assert.Equal("Sure, a", call.Conversation.Messages[^1].Text);
        Assert.Equal(900, call.Conversation.Messages[^1].Timings!.Value.InterruptedMs);
    }

    private static async IAsyncEnumerable<ModelStreamEvent> Timed(FakeTimeProvider time, int firstTokenMs, ModelStreamEvent content, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        ct.ThrowIfCancellationRequested();
        time.Advance(TimeSpan.FromMilliseconds(firstTokenMs));
        yield return content;
        yield return new ModelCompleted(content is ToolUseRequested ? ModelStopReason.ToolUse : ModelStopReason.EndTurn, new ModelUsage(10, 5))
        {
            Profile = "us.anthropic.claude-haiku-4-5",
            Fallbacks = 1,
        };
    }

    private static async IAsyncEnumerable<ModelStreamEvent> Waiting(TaskCompletionSource gate, [EnumeratorCancellation] CancellationToken ct)
    {
        yield return new TextDelta("Which size ");
        await gate.Task.WaitAsync(ct);
        yield return new TextDelta("would you like?");
        yield return new ModelCompleted(ModelStopReason.EndTurn);
    }
}
