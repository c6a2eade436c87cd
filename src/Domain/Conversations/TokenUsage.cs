namespace VoiceAgent.Domain.Conversations;

/// <summary>
/// Model tokens: <paramref name="Input"/> processed anew, <paramref name="Output"/> generated, and the input read
/// from (<paramref name="CacheRead"/>) or written to (<paramref name="CacheWrite"/>) the provider's prompt cache.
/// A value, not an object: every answer of a call's history carries one.
/// </summary>
public readonly record struct TokenUsage(long Input, long Output, long CacheRead = 0, long CacheWrite = 0)
{
    public static readonly TokenUsage None = new(0, 0);

    public bool IsNone => Input == 0 && Output == 0 && CacheRead == 0 && CacheWrite == 0;

    public TokenUsage Plus(TokenUsage other) =>
        new(Input + other.Input, Output + other.Output, CacheRead + other.CacheRead, CacheWrite + other.CacheWrite);
}
