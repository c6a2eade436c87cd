namespace VoiceAgent.Domain.Conversations;

/// <summary>
/// Where one turn's time went, in milliseconds from the caller's prompt arriving: the model request sent (negative
/// when a preemptive answer started before the final prompt), the model's first token, the first and last text frames
/// written to Twilio, and the caller's barge-in; the time tools ran, the rounds, the profile that answered and how
/// many profiles were passed over before it, and what Twilio reported during the turn (its info and error frames).
/// Kept with the turn's answer; never sent to the model. A value, not an object: every answer of a call's history
/// carries one.
/// </summary>
public readonly record struct TurnTimings
{
    public TurnTimings()
    {
    }

    public int? ModelRequestMs { get; init; }

    public int? FirstModelTokenMs { get; init; }

    public int? FirstTextMs { get; init; }

    public int? LastTextMs { get; init; }

    public int? InterruptedMs { get; init; }

    /// <summary>Summed run time of the turn's tool calls (they may run side by side).</summary>
    public int ToolMs { get; init; }

    public int ToolCalls { get; init; }

    public int ModelRounds { get; init; }

    public string? Profile { get; init; }

    /// <summary>Inference profiles passed over (throttled, failing) before the one that answered, over the turn's rounds.</summary>
    public int Fallbacks { get; init; }

    /// <summary>Twilio's info and error frames that arrived during the turn, as "info: …" / "error: …" (at most 20).</summary>
    public IReadOnlyList<string> RelayEvents { get => field ?? []; init; } = [];

    public const int MaxRelayEvents = 20;
}

/// <summary>Nearest-rank percentiles of a call's turn timings.</summary>
public static class Percentile
{
    /// <summary>The <paramref name="p"/>-th percentile (0–100) of <paramref name="values"/> by nearest rank; null when empty.</summary>
    public static int? Of(IReadOnlyList<int> values, double p)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
