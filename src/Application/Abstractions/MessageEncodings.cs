using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Abstractions;

/// <summary>
/// One call's store for a model provider's encoding of each message of its history. Messages are immutable and a turn
/// sends the history again with one or two messages more, so a provider that keeps each message's encoding here
/// encodes (and escapes) it once per call instead of once per turn. An encoding is kept only while its message is
/// still sent: one that a request no longer carries (folded into the summary, replaced by a barge-in truncation) is
/// dropped when that request is encoded. The system prompt's encoding is kept the same way, while the requests carry
/// the same prompt (the same string: a call's prompt is rendered once). Safe for the call's overlapping requests (a
/// held preemptive answer).
/// </summary>
public sealed class MessageEncodings
{
    private readonly Lock _lock = new();
    private Dictionary<ConversationMessage, byte[]> _current = new(ReferenceEqualityComparer.Instance);
    private Dictionary<ConversationMessage, byte[]> _next = new(ReferenceEqualityComparer.Instance);
    private SystemEncoding? _system;

    /// <summary>
    /// The encodings of the first <paramref name="count"/> <paramref name="messages"/>, in order: the kept ones, and
    /// <paramref name="encode"/>'s for the others (kept from now on). Encodings of other messages are dropped.
    /// </summary>
    public byte[][] For(IReadOnlyList<ConversationMessage> messages, int count, Func<ConversationMessage, byte[]> encode)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(encode);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, messages.Count);
        var encoded = new byte[count][];
        lock (_lock)
        {
            var next = _next;
            next.Clear();
            for (var i = 0; i < count; i++)
            {
                var message = messages[i];
                if (!next.TryGetValue(message, out var bytes) && !_current.TryGetValue(message, out bytes))
                {
                    bytes = encode(message);
                }

                next[message] = bytes;
                encoded[i] = bytes;
            }

            (_current, _next) = (next, _current);
            _next.Clear();
        }

        return encoded;
    }

    /// <summary>
    /// The encoding of <paramref name="prompt"/> split at <paramref name="split"/>, with or without a cache point: the
    /// kept one when the last request carried the same prompt (the same string) the same way, else
    /// <paramref name="encode"/>'s (kept from now on).
    /// </summary>
    public byte[] System(string prompt, int split, bool cachePoint, Func<string, int, bool, byte[]> encode)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(encode);
        lock (_lock)
        {
            if (_system is { } kept && ReferenceEquals(kept.Prompt, prompt) && kept.Split == split && kept.CachePoint == cachePoint)
            {
                return kept.Bytes;
            }
        }

        var bytes = encode(prompt, split, cachePoint);
        lock (_lock)
        {
            _system = new SystemEncoding(prompt, split, cachePoint, bytes);
        }

        return bytes;
    }

    private sealed record SystemEncoding(string Prompt, int Split, bool CachePoint, byte[] Bytes);
}
