namespace VoiceAgent.Domain.Calls;

/// <summary>How a call ended, as the post-call record names it.</summary>
public static class CallOutcomes
{
    public const string OrderPlaced = "order_placed";
    public const string HandedOff = "handed_off";
    public const string Failed = "failed";
    public const string Resolved = "resolved";
    public const string CallerHungUp = "caller_hung_up";
    public const string Abandoned = "abandoned";
}

/// <summary>
/// What a finished call came to, written once by the post-call job: its outcome, a short summary, the use case's
/// structured extraction (JSON valid against its schema), and its figures.
/// </summary>
public sealed record CallRecord(
    string Outcome,
    string? Summary,
    string? ExtractionJson,
    int DurationSeconds,
    int Turns,
    int Interruptions,
    long InputTokens,
    long OutputTokens,
    decimal CostUsd,
    DateTimeOffset RecordedAt);
