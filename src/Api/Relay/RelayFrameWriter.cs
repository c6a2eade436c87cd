using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.ObjectPool;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Api.Relay;

/// <summary>
/// Writes outbound messages as ConversationRelay frames into one reused buffer. A session's send loop rents one while
/// it has frames to write and returns it when its queue is empty, so the calls that sit idle (most of them) hold no
/// buffer; each frame is on the socket before the next is written.
/// </summary>
internal sealed class RelayFrameWriter : IDisposable
{
    /// <summary>Writers kept for reuse; more are made when more sessions write at once, and dropped past this.</summary>
    private static readonly ObjectPool<RelayFrameWriter> Pool = new DefaultObjectPoolProvider { MaximumRetained = 64 }.Create(new Policy());

    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private readonly Utf8JsonWriter _json;

    private RelayFrameWriter() => _json = new Utf8JsonWriter(_buffer);

    /// <summary>A writer for one burst of frames; give it back with <see cref="Return"/>.</summary>
    public static RelayFrameWriter Rent() => Pool.Get();

    /// <summary>Gives the writer back (a large buffer one frame needed is not kept).</summary>
    public static void Return(RelayFrameWriter writer) => Pool.Return(writer);

    /// <summary>The frame for <paramref name="message"/>, valid until the next call.</summary>
    public ReadOnlyMemory<byte> Write(OutboundMessage message)
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        var context = RelayJsonContext.Default;
        switch (message)
        {
            case SpeakText t:
                JsonSerializer.Serialize(_json, new TextFrame(t.Token, t.Last, t.Lang, t.Interruptible, t.Preemptible), context.TextFrame);
                break;
            case PlayMedia p:
                JsonSerializer.Serialize(_json, new PlayFrame(p.Source, p.Loop, p.Preemptible, p.Interruptible), context.PlayFrame);
                break;
            case SendDigits d:
                JsonSerializer.Serialize(_json, new SendDigitsFrame(d.Digits), context.SendDigitsFrame);
                break;
            case SwitchLanguage l:
                JsonSerializer.Serialize(_json, new LanguageFrame(l.TtsLanguage, l.TranscriptionLanguage), context.LanguageFrame);
                break;
            case EndRelay e:
                JsonSerializer.Serialize(_json, new EndFrame(e.HandoffData), context.EndFrame);
                break;
            default:
                throw new InvalidOperationException($"No wire format for {message.GetType().Name}.");
        }

        _json.Flush();
        return _buffer.WrittenMemory;
    }

    public void Dispose() => _json.Dispose();

    private sealed class Policy : IPooledObjectPolicy<RelayFrameWriter>
    {
        public RelayFrameWriter Create() => new();

        public bool Return(RelayFrameWriter obj) => obj._buffer.Capacity <= 4096;
    }
}
