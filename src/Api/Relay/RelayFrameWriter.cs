using System.Buffers;
using System.Text.Json;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Api.Relay;

/// <summary>
/// Writes outbound messages as ConversationRelay frames into one reused buffer: the session's send loop is its only
/// user, and each frame is on the socket before the next is written.
/// </summary>
internal sealed class RelayFrameWriter : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private readonly Utf8JsonWriter _json;

    public RelayFrameWriter() => _json = new Utf8JsonWriter(_buffer);

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
}
