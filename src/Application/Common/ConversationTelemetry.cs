using System.Diagnostics;
using System.Diagnostics.Metrics;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Domain.Conversations;

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
    private readonly Counter<long> _preemptive;
    private readonly Histogram<double> _headStart;
    private readonly Counter<long> _folds;
    private readonly Counter<double> _cost;
    private readonly Histogram<double> _turnStages;
    private readonly Counter<long> _fallbacks;
    private readonly TimeProvider _timeProvider;

    public ConversationTelemetry(IMeterFactory meterFactory, IActiveCallRegistry registry, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(registry);
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        var meter = meterFactory.Create(Name);
        meter.CreateObservableUpDownCounter("voiceagent.calls.active", () => registry.Count, description: "Relay sessions open on this instance.");
        _timeToFirstToken = meter.CreateHistogram(
            "voiceagent.turn.time_to_first_token",
            "ms",
            "From the caller's prompt arriving on the relay socket to the first answer token written to it.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _toolDuration = meter.CreateHistogram<double>("voiceagent.tool.duration", "ms", "Tool run time, by tool and status.");
        _bargeIns = meter.CreateCounter<long>("voiceagent.barge_ins", description: "Times a caller interrupted an answer.");
        _turns = meter.CreateCounter<long>("voiceagent.turns", description: "Turns by outcome: completed, cancelled, failed.");
        _preemptive = meter.CreateCounter<long>(
            "voiceagent.preemptive.answers",
            description: "Preemptive answers by outcome: hit (the final prompt confirmed the words), miss (it differed), superseded (the caller went on), dropped (barge-in, hang-up); every one but a hit is a wasted model call.");
        _cost = meter.CreateCounter<double>("voiceagent.llm.cost", "USD", "What the model calls cost at the configured prices (Pricing:Models), by use case and profile.");
        _turnStages = meter.CreateHistogram(
            "voiceagent.turn.stage",
            "ms",
            "Milliseconds from the caller's prompt to each stage of a turn: model_request, first_model_token, first_text, last_text, interrupted.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _fallbacks = meter.CreateCounter<long>("voiceagent.turn.fallbacks", description: "Inference profiles passed over (throttled, failing) before one answered, by use case.");
        _folds = meter.CreateCounter<long>("voiceagent.context.folds", description: "Times a long call's older history was folded into its running summary.");
        _headStart = meter.CreateHistogram(
            "voiceagent.preemptive.head_start",
            "ms",
            "On a hit: how long the model had been answering when the final prompt arrived — the wait the caller was spared, up to the model's first-token time.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
    }

    /// <summary>
    /// Bucket bounds (ms) for exporters that aggregate histograms: fine below 10 ms, where the service's own
    /// latency lives, and coarse above, where the model's does. The default bounds start at 5 ms.
    /// </summary>
    public static IReadOnlyList<double> LatencyBuckets { get; } =
        [0.25, 0.5, 1, 2, 3, 5, 10, 25, 50, 100, 250, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000];

    /// <summary>A timestamp on the clock <see cref="MessageWritten"/> measures with, for a prompt's arrival.</summary>
    public long Timestamp() => _timeProvider.GetTimestamp();

    /// <summary>Seconds between two <see cref="Timestamp"/> values.</summary>
    public double ElapsedSeconds(long from, long to) => _timeProvider.GetElapsedTime(from, to).TotalSeconds;

    /// <summary>
    /// The transport wrote <paramref name="message"/> of <paramref name="turn"/> to the caller's socket; the
    /// first answer token of a turn records time-to-first-token.
    /// </summary>
    public void MessageWritten(ActiveCall call, TurnHandle turn, OutboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(turn);
        if (message is not SpeakText text)
        {
            return;
        }

        turn.Clock.TextWritten(_timeProvider.GetTimestamp(), text.Last);
        if (text.Token.Length > 0 && turn.TryMarkFirstTokenWritten())
        {
            _timeToFirstToken.Record(
                _timeProvider.GetElapsedTime(turn.StartedAt).TotalMilliseconds,
                new KeyValuePair<string, object?>("use_case", call.UseCase.Id));
        }

        if (text.Last)
        {
            // The turn's answer is all out: its loop records where the time went.
            call.Post(new Conversations.CallInput.TurnSpoken(turn));
        }
    }

    /// <summary>A closed turn's stages, by stage (model_request, first_model_token, first_text, last_text, interrupted).</summary>
    public void TurnTimed(string useCaseId, TurnTimings timings)
    {
        void Stage(string stage, int? ms)
        {
            if (ms is { } value)
            {
                _turnStages.Record(value, new("use_case", useCaseId), new("stage", stage));
            }
        }

        Stage("model_request", timings.ModelRequestMs);
        Stage("first_model_token", timings.FirstModelTokenMs);
        Stage("first_text", timings.FirstTextMs);
        Stage("last_text", timings.LastTextMs);
        Stage("interrupted", timings.InterruptedMs);
        if (timings.Fallbacks > 0)
        {
            _fallbacks.Add(timings.Fallbacks, new KeyValuePair<string, object?>("use_case", useCaseId));
        }
    }

    public void ToolRan(string tool, string status, TimeSpan elapsed) =>
        _toolDuration.Record(elapsed.TotalMilliseconds, new("tool", tool), new("status", status));

    public void Preempted(string useCaseId, string outcome, double? headStartMs = null)
    {
        _preemptive.Add(1, new("use_case", useCaseId), new("outcome", outcome));
        if (headStartMs is { } ms)
        {
            _headStart.Record(ms, new KeyValuePair<string, object?>("use_case", useCaseId));
        }
    }

    public void ModelCost(string useCaseId, string? profile, decimal usd)
    {
        if (usd > 0)
        {
            _cost.Add((double)usd, new("use_case", useCaseId), new("profile", profile));
        }
    }

    public void ContextFolded(string useCaseId) => _folds.Add(1, new KeyValuePair<string, object?>("use_case", useCaseId));

    public void BargeIn(string useCaseId) => _bargeIns.Add(1, new KeyValuePair<string, object?>("use_case", useCaseId));

    public void TurnEnded(string useCaseId, string outcome) => _turns.Add(1, new("use_case", useCaseId), new("outcome", outcome));
}
