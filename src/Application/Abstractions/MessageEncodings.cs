using System.Buffers;
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
/// <remarks>
/// The encodings are written one after another into a few shared arrays (<see cref="Chunks"/>), not an array each: a
/// long call's history is hundreds of kept encodings, and every object a call keeps is one more for each full
/// collection to mark (on one vCPU the background collection shares the core with the calls).
/// </remarks>
public sealed class MessageEncodings
{
    private readonly Lock _lock = new();

    /// <summary>
    /// The messages the last request carried, in order, and their encodings (same indexes): the first
    /// <see cref="_keptCount"/> of each array, which may have room for more.
    /// </summary>
    private ConversationMessage[] _kept = [];
    private ReadOnlyMemory<byte>[] _keptBytes = [];
    private int _keptCount;
    private SystemEncoding? _system;
    private readonly Chunks _chunks = new();

    /// <summary>
    /// The encodings of the first <paramref name="count"/> <paramref name="messages"/>, in order: the kept ones, and
    /// <paramref name="encode"/>'s for the others (kept from now on). Encodings of other messages are dropped. The
    /// segment returned is kept too: read it, do not change it. <paramref name="encode"/> writes one message's encoding
    /// to the writer it is given (it may write in pieces: an encoding stays whole).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The usual turn sends the last request's messages, in place, and one or two new ones after them: those are
    /// encoded and written after the kept ones in the same arrays, and nothing else is allocated (two arrays the
    /// length of the history each turn were most of what a turn kept past a collection). A segment handed out earlier
    /// stays as it was: its array is only ever written past its end, and once an array is replaced it is not written
    /// again.
    /// </para>
    /// <para>
    /// Otherwise a request's messages are the last request's with some left out at the front (folded into the
    /// summary) or replaced (a barge-in's truncation), and new ones at the end. So the kept messages are walked
    /// beside the request's: each message is looked for by reference where the last one was found, and just after it;
    /// only a new message is compared with every kept one. A turn costs a reference comparison per message, not a
    /// hash lookup (a long call sends hundreds of messages a turn).
    /// </para>
    /// </remarks>
    public ArraySegment<ReadOnlyMemory<byte>> For(IReadOnlyList<ConversationMessage> messages, int count, Action<ConversationMessage, IBufferWriter<byte>> encode)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(encode);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, messages.Count);
        lock (_lock)
        {
            return Extends(messages, count) ? Append(messages, count, encode) : Rebuild(messages, count, encode);
        }
    }

    /// <summary>Whether the request sends every kept message, at its place, and maybe more after them.</summary>
    private bool Extends(IReadOnlyList<ConversationMessage> messages, int count)
    {
        if (count < _keptCount)
        {
            return false;
        }

        for (var i = 0; i < _keptCount; i++)
        {
            if (!ReferenceEquals(messages[i], _kept[i]))
            {
                return false;
            }
        }

        return true;
    }

    private ArraySegment<ReadOnlyMemory<byte>> Append(IReadOnlyList<ConversationMessage> messages, int count, Action<ConversationMessage, IBufferWriter<byte>> encode)
    {
        if (count > _kept.Length)
        {
            // Grown by doubling, as a list is; the old arrays stay with the segments already handed out.
            var capacity = Math.Max(count, Math.Max(8, _kept.Length * 2));
            var kept = new ConversationMessage[capacity];
            var keptBytes = new ReadOnlyMemory<byte>[capacity];
            Array.Copy(_kept, kept, _keptCount);
            Array.Copy(_keptBytes, keptBytes, _keptCount);
            (_kept, _keptBytes) = (kept, keptBytes);
        }

        for (var i = _keptCount; i < count; i++)
        {
            _keptBytes[i] = _chunks.Encode(messages[i], encode);
            _kept[i] = messages[i];
        }

        _keptCount = count;
        return new ArraySegment<ReadOnlyMemory<byte>>(_keptBytes, 0, count);
    }

    private ArraySegment<ReadOnlyMemory<byte>> Rebuild(IReadOnlyList<ConversationMessage> messages, int count, Action<ConversationMessage, IBufferWriter<byte>> encode)
    {
        var encoded = new ReadOnlyMemory<byte>[count];
        var sent = new ConversationMessage[count];
        var next = 0;
        for (var i = 0; i < count; i++)
        {
            var message = messages[i];
            var found = Find(_kept, _keptCount, next, message);
            if (found >= 0)
            {
                encoded[i] = _keptBytes[found];
                next = found + 1;
            }
            else
            {
                encoded[i] = _chunks.Encode(message, encode);
            }

            sent[i] = message;
        }

        (_kept, _keptBytes, _keptCount) = (sent, encoded, count);
        return new ArraySegment<ReadOnlyMemory<byte>>(encoded);
    }

    /// <summary>Where <paramref name="message"/> is among the kept ones: searched from <paramref name="from"/> on, then before it.</summary>
    private static int Find(ConversationMessage[] kept, int count, int from, ConversationMessage message)
    {
        for (var i = from; i < count; i++)
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

    /// <summary>
    /// Where the encodings are written: arrays of 512 bytes, doubling up to 4 KB (an encoding longer than that gets an
    /// array of its own size), each filled before the next is taken. An encoding is handed out as the part of its array
    /// it was written to and never written over: an array a request still reads stays as it was. An encoding that
    /// does not fit what is left of an array moves, whole, to the next one.
    /// </summary>
    private sealed class Chunks : IBufferWriter<byte>
    {
        private const int FirstSize = 512;
        private const int LargestSize = 4096;

        private byte[] _chunk = [];

        /// <summary>Where the encoding being written starts in <see cref="_chunk"/>: the end of those handed out.</summary>
        private int _start;

        /// <summary>Where the encoding being written ends so far.</summary>
        private int _end;

        public ReadOnlyMemory<byte> Encode(ConversationMessage message, Action<ConversationMessage, IBufferWriter<byte>> encode)
        {
            _end = _start;
            encode(message, this);
            var encoding = new ReadOnlyMemory<byte>(_chunk, _start, _end - _start);
            _start = _end;
            return encoding;
        }

        public void Advance(int count)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _chunk.Length - _end);
            _end += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            MakeRoom(sizeHint);
            return _chunk.AsMemory(_end);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            MakeRoom(sizeHint);
            return _chunk.AsSpan(_end);
        }

        /// <summary>Makes room for at least <paramref name="sizeHint"/> bytes (one when 0) after what is written.</summary>
        private void MakeRoom(int sizeHint)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
            var needed = Math.Max(sizeHint, 1);
            if (_chunk.Length - _end >= needed)
            {
                return;
            }

            var written = _end - _start;
            var size = Math.Max(written + needed, Math.Clamp(_chunk.Length * 2, FirstSize, LargestSize));
            var chunk = new byte[size];
            _chunk.AsSpan(_start, written).CopyTo(chunk);
            (_chunk, _start, _end) = (chunk, 0, written);
        }
    }
}
