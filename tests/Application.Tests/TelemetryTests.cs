using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Relay.Interrupted;
using VoiceAgent.Application.Relay.PromptReceived;

namespace VoiceAgent.Application.Tests;

public sealed class TelemetryTests
{
    [Fact]
    public async Task A_turn_is_a_span_with_model_rounds_and_tools_as_children_and_is_measured()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ConversationTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var lookup = new FakeTool("lookup", idempotent: true, (_, _) => Task.FromResult(new ToolOutcome("{}")));
        await using var harness = new Harness(Harness.PizzaUseCase(["lookup"]), lookup);
        var factory = harness.Get<IMeterFactory>();
        var measurements = new ConcurrentQueue<(string Name, double Value)>();
        using var meters = new MeterListener
        {
            // Only this harness's meter: other tests run in parallel with their own.
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ConversationTelemetry.Name && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<double>((i, v, _, _) => measurements.Enqueue((i.Name, v)));
        meters.SetMeasurementEventCallback<long>((i, v, _, _) => measurements.Enqueue((i.Name, v)));
        meters.Start();
        harness.Model.Then((_, ct) => ScriptedModel.ToolUse("lookup", "{}", ct)).ThenSays("Found it.").ThenSays("Well, ", "actually…");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Look it up", true, null));
        await call.IdleAsync();
        await harness.Sender.Send(new PromptReceived(call.CallSid, "And?", true, null));
        await harness.Output.WaitForAsync(o => o.HeardText.EndsWith("actually…", StringComparison.Ordinal));
        await harness.Sender.Send(new Interrupted(call.CallSid, "Well", 300));
        await call.IdleAsync();

        var tool = spans.Single(s => s.OperationName == "tool lookup");
        var turn = spans.Single(s => s.SpanId == tool.ParentSpanId);
        var children = spans.Where(s => s.ParentSpanId == turn.SpanId).Select(s => s.OperationName).ToList();
        Assert.Equal(["llm", "llm", "tool lookup"], children.Order(StringComparer.Ordinal));
        Assert.Equal("completed", turn.GetTagItem("voiceagent.outcome"));
        Assert.Equal(call.CallSid, turn.GetTagItem("voiceagent.call_sid"));
        Assert.Contains(measurements, m => m.Name == "voiceagent.barge_ins" && m.Value == 1);
        Assert.Contains(measurements, m => m.Name == "voiceagent.tool.duration");
        Assert.Contains(measurements, m => m.Name == "voiceagent.turns");
    }
}
