using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace VoiceAgent.Infrastructure.Llm.Bedrock;

/// <summary>One message of an AWS event stream: the headers ConverseStream uses, and the payload.</summary>
/// <param name="MessageType"><c>:message-type</c>: event, exception or error.</param>
/// <param name="EventType"><c>:event-type</c> of an event (contentBlockDelta, metadata, …).</param>
/// <param name="ExceptionType"><c>:exception-type</c> of an exception (throttlingException, …).</param>
/// <param name="ErrorCode"><c>:error-code</c> of an error.</param>
/// <param name="ErrorMessage"><c>:error-message</c> of an error.</param>
/// <param name="Payload">Valid until the reader is next given data (<see cref="EventStreamReader.GetMemory"/>).</param>
internal readonly record struct EventFrame(
    string? MessageType, string? EventType, string? ExceptionType, string? ErrorCode, string? ErrorMessage, ReadOnlyMemory<byte> Payload);

/// <summary>
/// Reads the AWS event-stream framing (application/vnd.amazon.eventstream) from the bytes of a response as they
/// arrive, in one pooled buffer: a prelude (total length, headers length, CRC-32 of the two), the headers, the payload
/// and a CRC-32 of the whole message, all big-endian. It replaces the SDK's decoder, which allocated a header
/// dictionary, header objects, CRC streams and a payload array for every frame of every answer; the golden streams
/// made by AWS's own codec (tests) hold it to the format, split at any byte.
/// </summary>
internal sealed class EventStreamReader : IDisposable
{
    private const int PreludeLength = 12;
    private const int MinMessageLength = PreludeLength + 4;

    /// <summary>Larger than any ConverseStream event (AWS caps event-stream messages at 16 MiB).</summary>
    private const int MaxMessageLength = 16 * 1024 * 1024;

    private const int MinFreeSpace = 4096;

    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _needed = MinMessageLength;

    public EventStreamReader(int capacity = 16 * 1024) => _buffer = ArrayPool<byte>.Shared.Rent(capacity);

    /// <summary>Where the next bytes of the response go; give their count to <see cref="Advance"/>. Ends the last frame's payload.</summary>
    public Memory<byte> GetMemory()
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        if (_start == _end)
        {
            _start = _end = 0;
        }

        var pending = _end - _start;
        var room = Math.Max(_needed, pending + MinFreeSpace);
        if (_buffer.Length - _end >= MinFreeSpace && _buffer.Length - _start >= room)
        {
            return _buffer.AsMemory(_end);
        }

        // Move the pending bytes to the front, into a larger array when the message being read needs one.
        var target = _buffer.Length >= room ? _buffer : ArrayPool<byte>.Shared.Rent(room);
        _buffer.AsSpan(_start, pending).CopyTo(target);
        if (!ReferenceEquals(target, _buffer))
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = target;
        }

        (_start, _end) = (0, pending);
        return _buffer.AsMemory(_end);
    }

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _end);
        _end += count;
    }

    /// <summary>True while bytes were left over that are not a whole message (a stream that ends so was cut short).</summary>
    public bool HasPartialMessage => _end > _start;

    /// <summary>The next whole message, if the bytes given so far hold one. Throws <see cref="InvalidDataException"/> on a corrupt stream.</summary>
    public bool TryRead(out EventFrame frame)
    {
        frame = default;
        var available = _end - _start;
        if (available < PreludeLength)
        {
            _needed = MinMessageLength;
            return false;
        }

        var message = _buffer.AsSpan(_start, available);
        var total = BinaryPrimitives.ReadInt32BigEndian(message);
        var headersLength = BinaryPrimitives.ReadInt32BigEndian(message[4..]);
        if (Crc32.HashToUInt32(message[..8]) != BinaryPrimitives.ReadUInt32BigEndian(message[8..]))
        {
            throw new InvalidDataException("An event-stream message's prelude failed its checksum.");
        }

        if (total is < MinMessageLength or > MaxMessageLength || headersLength < 0 || headersLength > total - MinMessageLength)
        {
            throw new InvalidDataException($"An event-stream message declares {total} bytes with {headersLength} of headers.");
        }

        if (available < total)
        {
            _needed = total;
            return false;
        }

        message = message[..total];
        if (Crc32.HashToUInt32(message[..^4]) != BinaryPrimitives.ReadUInt32BigEndian(message[^4..]))
        {
            throw new InvalidDataException("An event-stream message failed its checksum.");
        }

        string? messageType = null, eventType = null, exceptionType = null, errorCode = null, errorMessage = null;
        var headers = message.Slice(PreludeLength, headersLength);
        while (!headers.IsEmpty)
        {
            var nameLength = headers[0];
            if (headers.Length < 2 + nameLength)
            {
                throw new InvalidDataException("An event-stream header is cut short.");
            }

            var name = headers.Slice(1, nameLength);
            var type = headers[1 + nameLength];
            headers = headers[(2 + nameLength)..];
            var size = type switch
            {
                0 or 1 => 0,
                2 => 1,
                3 => 2,
                4 => 4,
                5 or 8 => 8,
                9 => 16,
                6 or 7 when headers.Length >= 2 => 2 + BinaryPrimitives.ReadUInt16BigEndian(headers),
                _ => throw new InvalidDataException($"An event-stream header has value type {type}."),
            };
            if (headers.Length < size)
            {
                throw new InvalidDataException("An event-stream header is cut short.");
            }

            if (type == 7)
            {
                var value = headers[2..size];
                switch (name)
                {
                    case var n when n.SequenceEqual(":message-type"u8):
                        messageType = Known(value);
                        break;
                    case var n when n.SequenceEqual(":event-type"u8):
                        eventType = Known(value);
                        break;
                    case var n when n.SequenceEqual(":exception-type"u8):
                        exceptionType = Encoding.UTF8.GetString(value);
                        break;
                    case var n when n.SequenceEqual(":error-code"u8):
                        errorCode = Encoding.UTF8.GetString(value);
                        break;
                    case var n when n.SequenceEqual(":error-message"u8):
                        errorMessage = Encoding.UTF8.GetString(value);
                        break;
                }
            }

            headers = headers[size..];
        }

        var payloadStart = _start + PreludeLength + headersLength;
        frame = new EventFrame(messageType, eventType, exceptionType, errorCode, errorMessage, _buffer.AsMemory(payloadStart, total - headersLength - MinMessageLength));
        _start += total;
        _needed = MinMessageLength;
        return true;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _start = _end = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The message and event types ConverseStream sends, without a string a frame; others as read.</summary>
    private static string Known(ReadOnlySpan<byte> value) => value switch
    {
        _ when value.SequenceEqual("event"u8) => "event",
        _ when value.SequenceEqual("contentBlockDelta"u8) => "contentBlockDelta",
        _ when value.SequenceEqual("contentBlockStart"u8) => "contentBlockStart",
        _ when value.SequenceEqual("contentBlockStop"u8) => "contentBlockStop",
        _ when value.SequenceEqual("messageStart"u8) => "messageStart",
        _ when value.SequenceEqual("messageStop"u8) => "messageStop",
        _ when value.SequenceEqual("metadata"u8) => "metadata",
        _ => Encoding.UTF8.GetString(value),
    };
}
