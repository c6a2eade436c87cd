using System.Diagnostics.Metrics;

namespace VoiceAgent.Infrastructure.Llm.Bedrock;

/// <summary>OpenTelemetry-ready instruments of the model client (Meter "VoiceAgent.Llm").</summary>
public sealed class BedrockMetrics
{
    public const string MeterName = "VoiceAgent.Llm";

    private readonly Histogram<double> _timeToFirstToken;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _hedges;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _cachePointsRefused;

    public BedrockMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _timeToFirstToken = meter.CreateHistogram<double>("voiceagent.llm.time_to_first_token", "ms", "Request start to the first token, per inference profile used.");
        _fallbacks = meter.CreateCounter<long>("voiceagent.llm.fallbacks", description: "Answers served by a profile other than the preferred one.");
        _failures = meter.CreateCounter<long>("voiceagent.llm.profile_failures", description: "Failed attempts, by profile and error kind.");
        _hedges = meter.CreateCounter<long>("voiceagent.llm.hedged_requests", description: "Second profiles started because the first was slow.");
        _tokens = meter.CreateCounter<long>("voiceagent.llm.tokens", "{token}", "Tokens by profile and type: input (processed anew), output, cache_read, cache_write.");
        _cachePointsRefused = meter.CreateCounter<long>("voiceagent.llm.cache_points_refused", description: "Profiles that refused prompt-cache points (asked without them from then on).");
    }

    public void FirstToken(string profile, double milliseconds, int fallbackDepth) =>
        _timeToFirstToken.Record(milliseconds, new("profile", profile), new("fallback_depth", fallbackDepth));

    public void Fallback(string preferred, string used) => _fallbacks.Add(1, new("preferred", preferred), new("profile", used));

    public void Failure(string profile, string kind) => _failures.Add(1, new("profile", profile), new("kind", kind));

    public void Tokens(string profile, Application.Abstractions.ModelUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        Add(usage.InputTokens, "input");
        Add(usage.OutputTokens, "output");
        Add(usage.CacheReadInputTokens, "cache_read");
        Add(usage.CacheWriteInputTokens, "cache_write");
        void Add(int tokens, string type)
        {
            if (tokens > 0)
            {
                _tokens.Add(tokens, new("profile", profile), new("type", type));
            }
        }
    }

    public void CachePointsRefused(string profile) => _cachePointsRefused.Add(1, new KeyValuePair<string, object?>("profile", profile));

    public void Hedged(string profile) => _hedges.Add(1, new KeyValuePair<string, object?>("profile", profile));
}
