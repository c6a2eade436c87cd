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

    /// <summary>The messages the last request carried, in order, and their encodings (same indexes).</summary>
    private ConversationMessage[] _kept = [];
    private byte[][] _keptBytes = [];
    private SystemEncoding? _system;

    /// <summary>
    /// The encodings of the first <paramref name="count"/> <paramref name="messages"/>, in order: the kept ones, and
    /// <paramref name="encode"/>'s for the others (kept from now on). Encodings of other messages are dropped. The
    /// array returned is kept too: read it, do not change it.
    /// </summary>
    /// <remarks>
    /// A request's messages are the last request's, in the same order, with some left out at the front (folded into
    /// the summary) or replaced (a barge-in's truncation), and new ones at the end. So the kept messages are walked
    /// beside the request's: each message is looked for by reference where the last one was found, and just after it;
    /// only a new message is compared with every kept one. A turn costs a reference comparison per message, not a
    /// hash lookup (a long call sends hundreds of messages a turn).
    /// </remarks>
    public byte[][] For(IReadOnlyList<ConversationMessage> messages, int count, Func<ConversationMessage, byte[]> encode)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(encode);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, messages.Count);
        var encoded = new byte[count][];
        var sent = new ConversationMessage[count];
        lock (_lock)
        {
            var (kept, keptBytes) = (_kept, _keptBytes);
            var next = 0;
            for (var i = 0; i < count; i++)
            {
                var message = messages[i];
                var found = Find(kept, next, message);
                if (found >= 0)
                {
                    encoded[i] = keptBytes[found];
                    next = found + 1;
                }
                else
                {
                    encoded[i] = encode(message);
                }

                sent[i] = message;
            }

            (_kept, _keptBytes) = (sent, encoded);
        }

        return encoded;
    }

    /// <summary>Where <paramref name="message"/> is among the kept ones: searched from <paramref name="from"/> on, then before it.</summary>
    private static int Find(ConversationMessage[] kept, int from, ConversationMessage message)
    {
        for (var i = from; i < kept.Length; i++)
        {
            if (ReferenceEquals(kept[i], message))
            {
                return i;
            }
        }

        for (var i = 0; i < from; i++)
        {
            if (ReferenceEquals(kept[i], message))
            {
                return i;
            }
        }

        return -1;
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
