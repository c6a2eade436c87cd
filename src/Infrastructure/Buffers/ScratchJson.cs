using System.Buffers;
using System.Text.Json;

namespace VoiceAgent.Infrastructure.Buffers;

/// <summary>
/// A thread's JSON writer and buffer, reused for encodings that are copied out as soon as they are written (a message's
/// encoding kept for the call, a stored item's content): no writer and no buffer allocated per encoding. Taken and given
/// back, so a nested use gets a fresh pair; a buffer grown past 64 KB is not kept.
/// </summary>
internal ref struct ScratchJson : IDisposable
{
    private const int KeptCapacity = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly ArrayBufferWriter<byte> _buffer;

    private ScratchJson(ArrayBufferWriter<byte> buffer, Utf8JsonWriter writer)
    {
        _buffer = buffer;
        Writer = writer;
    }

    /// <summary>The writer (default options), empty.</summary>
    public Utf8JsonWriter Writer { get; }

    /// <summary>What was written since the start or the last <see cref="Restart"/>.</summary>
    public readonly ReadOnlySpan<byte> Written
    {
        get
        {
            Writer.Flush();
            return _buffer.WrittenSpan;
        }
    }

    public static ScratchJson Start()
    {
        var (buffer, writer) = (t_buffer ?? new ArrayBufferWriter<byte>(1024), t_writer);
        (t_buffer, t_writer) = (null, null);
        buffer.ResetWrittenCount();
        if (writer is null)
        {
            writer = new Utf8JsonWriter(buffer);
        }
        else
        {
            writer.Reset(buffer);
        }

        return new ScratchJson(buffer, writer);
    }

    /// <summary>Forgets what was written, for the next encoding.</summary>
    public readonly void Restart()
    {
        Writer.Flush();
        _buffer.ResetWrittenCount();
        Writer.Reset(_buffer);
    }

    public readonly void Dispose()
    {
        if (_buffer.Capacity <= KeptCapacity)
        {
            (t_buffer, t_writer) = (_buffer, Writer);
        }
    }
}
