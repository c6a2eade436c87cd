using System.Text;
using System.Threading.Channels;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;

namespace VoiceAgent.Api.Relay;

/// <summary>A message for the caller and the turn it belongs to (none for call-level messages).</summary>
internal sealed record OutboundFrame(OutboundMessage Message, TurnHandle? Turn);

/// <summary>
/// What a relay session has to send, in order: a bounded queue with many writers (turns, tools, the drain)
/// and one reader, the session's send loop. The reader never sees a frame of a cancelled turn, and the tokens
/// of one answer that are already queued come out as one frame, so a burst from the model costs one socket
/// write rather than one per token. Nothing waits for more: a token alone in the queue goes out alone, at once.
/// An <c>end</c> never follows an answer left open: when the text before it did not carry last=true, an empty text
/// with last=true goes out first.
/// </summary>
internal sealed class RelayOutbox
{
    /// <summary>Queued tokens are joined up to this many characters per frame.</summary>
    public const int MaxJoinedChars = 1024;

    private readonly Channel<OutboundFrame> _channel;
    private readonly StringBuilder _joined = new();
    private OutboundFrame? _held;
    private bool _answerOpen;

    public RelayOutbox(int capacity)
    {
        _channel = Channel.CreateBounded<OutboundFrame>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public ValueTask SendAsync(OutboundMessage message, TurnHandle? turn, CancellationToken cancellationToken)
    {
        var frame = new OutboundFrame(message, turn);
        return _channel.Writer.TryWrite(frame) ? ValueTask.CompletedTask : WriteSlowAsync(frame, cancellationToken);
    }

    /// <summary>No more frames: the reader drains what is queued, then stops.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>False once completed and drained.</summary>
    public ValueTask<bool> WaitToReadAsync() => _channel.Reader.WaitToReadAsync(CancellationToken.None);

    /// <summary>The next frame to write, skipping cancelled turns and joining queued tokens of one answer. Single reader.</summary>
    public bool TryTake(out OutboundFrame frame)
    {
        if (_held is { } held)
        {
            _held = null;
            frame = held;
            return true;
        }

        var reader = _channel.Reader;
        while (reader.TryRead(out frame!))
        {
            if (frame.Turn is { IsCancelled: true })
            {
                continue;
            }

            if (frame.Message is SpeakText { Last: false } text)
            {
                frame = Join(reader, frame, text);
            }

            if (frame.Message is EndRelay && _answerOpen)
            {
                _held = frame;
                frame = new OutboundFrame(new SpeakText(string.Empty, Last: true), null);
            }

            if (frame.Message is SpeakText spoken)
            {
                _answerOpen = !spoken.Last;
            }

            return true;
        }

        return false;
    }

    private OutboundFrame Join(ChannelReader<OutboundFrame> reader, OutboundFrame first, SpeakText text)
    {
        if (!reader.TryPeek(out var next) || !Joinable(next, first.Turn, text))
        {
            return first;
        }

        _joined.Clear().Append(text.Token);
        var last = false;
        while (!last && _joined.Length < MaxJoinedChars && reader.TryPeek(out next) && Joinable(next, first.Turn, text))
        {
            reader.TryRead(out _);
            var more = (SpeakText)next.Message;
            _joined.Append(more.Token);
            last = more.Last;
        }

        return first with { Message = text with { Token = _joined.ToString(), Last = last } };
    }

    private static bool Joinable(OutboundFrame next, TurnHandle? turn, SpeakText first) =>
        ReferenceEquals(next.Turn, turn) && next.Message is SpeakText text
        && text.Lang == first.Lang && text.Interruptible == first.Interruptible && text.Preemptible == first.Preemptible;

    private async ValueTask WriteSlowAsync(OutboundFrame frame, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.Writer.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new OperationCanceledException("The relay session is closed.", ex, cancellationToken);
        }
    }
}
