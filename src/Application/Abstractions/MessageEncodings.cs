using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Abstractions;

/// <summary>
/// One call's store for a model provider's encoding of each message of its history. Messages are immutable and a turn
/// sends the history again with one or two messages more, so a provider that keeps each message's encoding here
/// encodes (and escapes) it once per call instead of once per turn. An encoding is kept only while its message is
/// still sent: one that a request no longer carries (folded into the summary, replaced by a barge-in truncation) is
/// dropped when that request is encoded. Safe for the call's overlapping requests (a held preemptive answer).
/// </summary>
public sealed class MessageEncodings
{
    private readonly Lock _lock = new();
    private Dictionary<ConversationMessage, byte[]> _current = new(ReferenceEqualityComparer.Instance);
    private Dictionary<ConversationMessage, byte[]> _next = new(ReferenceEqualityComparer.Instance);

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
}
