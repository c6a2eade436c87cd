using System.Diagnostics;
using System.Diagnostics.Metrics;
using VoiceAgent.Application.Calls;

namespace VoiceAgent.Application.Common;

/// <summary>
/// The conversation module's OpenTelemetry instruments: a span per turn with child spans per model round and per
/// tool (ActivitySource "VoiceAgent.Conversation"), and metrics on Meter "VoiceAgent.Conversation".
/// Tags carry ids and names only — never transcripts or phone numbers.
/// </summary>
public sealed class ConversationTelemetry
{
    public const string Name = "VoiceAgent.Conversation";

    public static readonly ActivitySource Source = new(Name);

    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _toolDuration;
    private readonly Counter<long> _bargeIns;
    private readonly Counter<long> _turns;

    public ConversationTelemetry(IMeterFactory meterFactory, IActiveCallRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(registry);
        var meter = meterFactory.Create(Name);
        meter.CreateObservableUpDownCounter("voiceagent.calls.active", () => registry.Count, description: "Relay sessions open on this instance.");
        _timeToFirstToken = meter.CreateHistogram<double>(
            "voiceagent.turn.time_to_first_token", "ms", "From the caller's prompt to the first answer token handed to the relay.");
        _toolDuration = meter.CreateHistogram<double>("voiceagent.tool.duration", "ms", "Tool run time, by tool and status.");
        _bargeIns = meter.CreateCounter<long>("voiceagent.barge_ins", description: "Times a caller interrupted an answer.");
        _turns = meter.CreateCounter<long>("voiceagent.turns", description: "Turns by outcome: completed, cancelled, failed.");
    }

    public void FirstToken(string useCaseId, TimeSpan elapsed) =>
        _timeToFirstToken.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("use_case", useCaseId));

    public void ToolRan(string tool, string status, TimeSpan elapsed) =>
        _toolDuration.Record(elapsed.TotalMilliseconds, new("tool", tool), new("status", status));

    public void BargeIn(string useCaseId) => _bargeIns.Add(1, new KeyValuePair<string, object?>("use_case", useCaseId));

    public void TurnEnded(string useCaseId, string outcome) => _turns.Add(1, new("use_case", useCaseId), new("outcome", outcome));
}
