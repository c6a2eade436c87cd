using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using FluentValidation;
using Mediator;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Calls.EndSession;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Relay.DtmfReceived;
using VoiceAgent.Application.Relay.Interrupted;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Application.Relay.RelayEventReceived;
using VoiceAgent.Application.Relay.SessionStarted;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Api.Relay;

/// <summary>
/// One ConversationRelay WebSocket: a receive loop that parses and dispatches frames (never awaiting the
/// model), and a send loop that is the socket's only writer, fed by a bounded channel. Frames of a cancelled
/// turn are dropped by the send loop, so nothing of an interrupted answer goes out after the interrupt.
/// </summary>
internal sealed partial class RelaySession : ICallOutput, IDisposable
{
    private const int InitialReceiveBuffer = 4 * 1024;
    private const string SetupFailedLine = "Sorry, we can't take your call right now. Please try again later.";

    private readonly WebSocket _socket;
    private readonly CallContext _bound;
    private readonly string _logId;
    private readonly ISender _sender;
    private readonly IActiveCallRegistry _registry;
    private readonly ConversationTelemetry _telemetry;
    private readonly RelayOptions _options;
    private readonly ILogger _logger;
    private readonly RelayOutbox _outbox;
    private readonly CancellationTokenSource _session;
    private ActiveCall? _call;
    private (WebSocketCloseStatus Status, string Description)? _closeNow;
    private int _badFrames;
    private InboundBudget _inbound;

    // bound: what the session's relay ticket binds it to; setup must name the same call.
    public RelaySession(
        WebSocket socket,
        CallContext bound,
        ISender sender,
        IActiveCallRegistry registry,
        ConversationTelemetry telemetry,
        RelayOptions options,
        ILogger logger,
        CancellationToken lifetime)
    {
        _socket = socket;
        _bound = bound;
        _logId = LogIds.Call(bound.CallSid);
        _sender = sender;
        _registry = registry;
        _telemetry = telemetry;
        _options = options;
        _logger = logger;
        _session = CancellationTokenSource.CreateLinkedTokenSource(lifetime);
        _outbox = new RelayOutbox(options.SendQueueCapacity);
    }

    /// <summary>Runs the call until it ends; hands it over when <paramref name="draining"/> fires. Disposes the session.</summary>
    public async Task RunAsync(CancellationToken draining)
    {
        using var onDrain = draining.Register(static state => ((RelaySession)state!).BeginDrain(), this);
        var sendLoop = SendLoopAsync();
        var close = (Status: WebSocketCloseStatus.NormalClosure, Description: (string?)null);
        try
        {
            close = await ReceiveLoopAsync(_session.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_session.IsCancellationRequested)
        {
            close = (WebSocketCloseStatus.EndpointUnavailable, "server stopping");
        }
        catch (WebSocketException ex)
        {
            Log.ConnectionLost(_logger, ex, _logId);
        }
        finally
        {
            await ShutdownAsync(close.Status, close.Description).ConfigureAwait(false);
            await sendLoop.ConfigureAwait(false);
            Dispose();
        }
    }

    /// <summary>
    /// The host is stopping: give the call the drain window to finish on its own, then hand it over — a short
    /// spoken line and an end with "server-draining" handoff data, so /action reconnects it elsewhere.
    /// </summary>
    public void BeginDrain() => _ = DrainAsync();

    private async Task DrainAsync()
    {
        try
        {
            await Task.Delay(_options.DrainTimeout, _session.Token).ConfigureAwait(false);
            if (_call is not { } call)
            {
                await _session.CancelAsync().ConfigureAwait(false);
                return;
            }

            Log.HandingOver(_logger, _logId);

            try
            {
                // The loop cancels the running turn (nothing more of it goes out) and starts no new one first.
                await call.HandOverAsync().WaitAsync(_options.CloseTimeout, _session.Token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.TurnDidNotStop(_logger, _logId);
            }

            await SendAsync(new SpeakText(_options.DrainLine, Last: true), null, _session.Token).ConfigureAwait(false);
            await SendAsync(new EndRelay(DrainHandover.HandoffData(call.Language)), null, _session.Token).ConfigureAwait(false);

            // Twilio closes the socket after end; if it does not, the session ends with the close timeout.
            await Task.Delay(_options.CloseTimeout, _session.Token).ConfigureAwait(false);
            await _session.CancelAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The call ended by itself within the window.
        }
        catch (ObjectDisposedException)
        {
            // The session is already gone.
        }
    }

    public ValueTask SendAsync(OutboundMessage message, TurnHandle? turn, CancellationToken cancellationToken) =>
        _outbox.SendAsync(message, turn, cancellationToken);

    public void Dispose()
    {
        _session.Dispose();
    }

    private async Task<(WebSocketCloseStatus, string?)> ReceiveLoopAsync(CancellationToken token)
    {
        while (true)
        {
            // Idle calls hold no receive buffer: wait for data with a zero-byte read, then rent one.
            var peek = await _socket.ReceiveAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
            var arrived = _telemetry.Timestamp();
            if (peek.MessageType == WebSocketMessageType.Close)
            {
                return (WebSocketCloseStatus.NormalClosure, null);
            }

            var message = peek.EndOfMessage
                ? new ReceivedMessage(ArrayPool<byte>.Shared.Rent(1), 0, peek.MessageType, false)
                : await ReadMessageAsync(token).ConfigureAwait(false);
            var pause = _inbound.Spend(message.Oversized ? _options.MaxFrameBytes : message.Length, arrived, _options.MaxInboundBytesPerSecond, _telemetry);
            try
            {
                if (message.Type == WebSocketMessageType.Close)
                {
                    return (WebSocketCloseStatus.NormalClosure, null);
                }

                if (message.Oversized)
                {
                    BadFrame("oversized", $"larger than {_options.MaxFrameBytes} bytes");
                }
                else if (message.Type == WebSocketMessageType.Binary)
                {
                    BadFrame("binary", "binary frames are not part of the protocol");
                }
                else
                {
                    await DispatchAsync(message.Buffer.AsMemory(0, message.Length), arrived, token).ConfigureAwait(false);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(message.Buffer);
            }

            if (_closeNow is { } close)
            {
                return close;
            }

            if (pause > TimeSpan.Zero)
            {
                await Task.Delay(pause, token).ConfigureAwait(false);
            }

            if (_badFrames >= _options.MaxConsecutiveBadFrames)
            {
                Log.TooManyBadFrames(_logger, _logId, _badFrames);
                return (WebSocketCloseStatus.InvalidPayloadData, "too many invalid messages");
            }
        }
    }

    /// <summary>
    /// Reads one whole message into a pooled buffer, growing it up to the cap; past the cap the rest of the
    /// message is read and thrown away. The caller returns the buffer to the pool.
    /// </summary>
    private async ValueTask<ReceivedMessage> ReadMessageAsync(CancellationToken token)
    {
        var cap = _options.MaxFrameBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialReceiveBuffer, cap + 1));
        var length = 0;
        var oversized = false;
        while (true)
        {
            if (!oversized && length == buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, cap + 1));
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }

            var target = oversized ? buffer.AsMemory() : buffer.AsMemory(length);
            var result = await _socket.ReceiveAsync(target, token).ConfigureAwait(false);
            if (!oversized)
            {
                length += result.Count;
                oversized = length > cap;
            }

            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close)
            {
                return new ReceivedMessage(buffer, oversized ? 0 : length, result.MessageType, oversized);
            }
        }
    }

    private async ValueTask DispatchAsync(ReadOnlyMemory<byte> frame, long arrived, CancellationToken token)
    {
        string? type;
        try
        {
            type = RelayFrame.ReadType(frame.Span);
        }
        catch (JsonException)
        {
            BadFrame("malformed", "not valid JSON");
            return;
        }

        try
        {
            switch (type)
            {
                case "setup":
                    await OnSetupAsync(Read(frame, RelayJsonContext.Default.SetupMessage), token).ConfigureAwait(false);
                    break;
                case "prompt" when _call is { } call:
                    // Decoded only as far as an utterance may go (+1, so the cut can find the word it ends in).
                    var prompt = RelayFrame.ReadPrompt(frame.Span, call.MaxUtteranceChars + 1);
                    await _sender.Send(new PromptReceived(call.CallSid, prompt.VoicePrompt, prompt.Last, prompt.Lang, arrived), token).ConfigureAwait(false);
                    GoodFrame();
                    break;
                case "interrupt" when _call is { } call:
                    var interrupt = Read(frame, RelayJsonContext.Default.InterruptMessage);
                    await _sender.Send(new Interrupted(call.CallSid, interrupt.UtteranceUntilInterrupt, interrupt.DurationUntilInterruptMs), token).ConfigureAwait(false);
                    GoodFrame();
                    break;
                case "dtmf" when _call is { } call:
                    var dtmf = Read(frame, RelayJsonContext.Default.DtmfMessage);
                    await _sender.Send(new DtmfReceived(call.CallSid, dtmf.Digit), token).ConfigureAwait(false);
                    GoodFrame();
                    break;
                case "prompt" or "interrupt" or "dtmf":
                    BadFrame(type, "arrived before setup");
                    break;
                case "info":
                    // Twilio's informational frames neither count against the peer nor reset the count.
                    Log.Info(_logger, _logId);
                    if (_call is { } informed)
                    {
                        await _sender.Send(new RelayEventReceived(informed.CallSid, "info", Fields(frame)), token).ConfigureAwait(false);
                    }

                    break;
                case "error":
                    var error = Read(frame, RelayJsonContext.Default.ErrorMessage);
                    Log.TwilioReportedError(_logger, _logId, Shorten(PiiRedactor.BuiltIn.Redact(error.Description ?? "(no description)")));
                    if (_call is { } failed)
                    {
                        await _sender.Send(new RelayEventReceived(failed.CallSid, "error", error.Description ?? "(no description)"), token).ConfigureAwait(false);
                    }

                    GoodFrame();
                    break;
                case null:
                    BadFrame("untyped", "no \"type\" property");
                    break;
                default:
                    // Well-formed, of a type Twilio added after this was written: ignored, not counted.
                    Log.UnknownType(_logger, _logId, Shorten(type));
                    break;
            }
        }
        catch (JsonException ex)
        {
            BadFrame(type ?? "untyped", ex.Message);
        }
        catch (ValidationException ex)
        {
            BadFrame(type ?? "untyped", string.Join("; ", ex.Errors.Select(e => e.ErrorMessage)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Our fault, not Twilio's: keep the call up and do not count it against the peer.
            Log.HandlerFailed(_logger, ex, _logId, type ?? "untyped");
        }
    }

    private async ValueTask OnSetupAsync(SetupMessage setup, CancellationToken token)
    {
        if (_call is not null)
        {
            BadFrame("setup", "a second setup on the same session");
            return;
        }

        if (!string.Equals(setup.CallSid, _bound.CallSid, StringComparison.Ordinal))
        {
            // The ticket was issued for another call: close before anything of either call is touched.
            Log.CallMismatch(_logger, _logId, LogIds.Call(setup.CallSid));
            _closeNow = (WebSocketCloseStatus.PolicyViolation, "setup does not match the call this connection was issued for");
            return;
        }

        // Caller, dialled number and use case come from the ticket (the signed webhook), not from setup.
        try
        {
            _call = await _sender.Send(new SessionStarted(_bound, setup.SessionId, this), token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or ValidationException))
        {
            Log.SetupFailed(_logger, ex, _logId);
            await SendAsync(new SpeakText(SetupFailedLine, Last: true), null, token).ConfigureAwait(false);
            await SendAsync(new EndRelay(null), null, token).ConfigureAwait(false);
            return;
        }

        GoodFrame();
    }

    /// <summary>An info frame's fields but its type, as "name=value" pairs (for the turn's record).</summary>
    private static string Fields(ReadOnlyMemory<byte> frame)
    {
        using var json = JsonDocument.Parse(frame);
        var fields = new System.Text.StringBuilder();
        foreach (var property in json.RootElement.EnumerateObject())
        {
            if (property.NameEquals("type") || fields.Length > RelayEventReceived.MaxChars)
            {
                continue;
            }

            fields.Append(fields.Length == 0 ? string.Empty : " ").Append(property.Name).Append('=')
                .Append(property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText());
        }

        return fields.ToString();
    }

    private static T Read<T>(ReadOnlyMemory<byte> frame, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) =>
        JsonSerializer.Deserialize(frame.Span, info) ?? throw new JsonException("The message is null.");

    private void GoodFrame() => _badFrames = 0;

    private void BadFrame(string kind, string reason)
    {
        _badFrames++;
        Log.BadFrame(_logger, _logId, Shorten(kind), reason, _badFrames);
    }

    /// <summary>Peer-supplied text as a log may hold it: at most 200 characters.</summary>
    private static string Shorten(string text) => text.Length <= 200 ? text : string.Concat(text.AsSpan(0, 200), "…");

    private async Task SendLoopAsync()
    {
        var token = _session.Token;
        try
        {
            while (await _outbox.WaitToReadAsync().ConfigureAwait(false))
            {
                // A writer only while there is something to write: an idle call holds no frame buffer.
                var frames = RelayFrameWriter.Rent();
                try
                {
                    while (_outbox.TryTake(out var frame))
                    {
                        var bytes = frames.Write(frame.Message);
                        // Timed as it is handed to the socket: a caller who hangs up the moment the frame lands
                        // closes the session before this send returns, and the turn's timings must have it by then.
                        if (frame.Turn is { } turn && _call is { } call)
                        {
                            _telemetry.MessageWritten(call, turn, frame.Message);
                        }

                        await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, token).ConfigureAwait(false);
                    }
                }
                finally
                {
                    RelayFrameWriter.Return(frames);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The socket is gone: stop the session so the receive loop and every turn end too.
            if (!token.IsCancellationRequested)
            {
                Log.SendFailed(_logger, ex, _logId);
                await _session.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task ShutdownAsync(WebSocketCloseStatus status, string? description)
    {
        var call = _call;
        call?.Close();
        if (call is not null)
        {
            _registry.Remove(call);
            try
            {
                // The loop closes the running turn with what the caller heard, then stops.
                await call.Completion.WaitAsync(_options.CloseTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.TurnDidNotStop(_logger, _logId);
            }
        }

        _outbox.Complete();
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var timeout = new CancellationTokenSource(_options.CloseTimeout);
            try
            {
                if (_socket.State == WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(status, description, timeout.Token).ConfigureAwait(false);
                }
                else
                {
                    await _socket.CloseAsync(status, description, timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                Log.CloseFailed(_logger, _logId);
            }
        }

        Log.SessionClosed(_logger, _logId, status);
    }

    private readonly record struct ReceivedMessage(byte[] Buffer, int Length, WebSocketMessageType Type, bool Oversized);

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Call {CallSid}: dropped a {Kind} relay frame ({Reason}); {Count} bad in a row")]
        public static partial void BadFrame(ILogger logger, string callSid, string kind, string reason, int count);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Call {CallSid}: {Count} bad frames in a row; closing with 1007")]
        public static partial void TooManyBadFrames(ILogger logger, string callSid, int count);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Call {CallSid}: Twilio reported an error: {Description}")]
        public static partial void TwilioReportedError(ILogger logger, string callSid, string description);

        [LoggerMessage(EventId = 6004, Level = LogLevel.Debug, Message = "Call {CallSid}: info message from Twilio")]
        public static partial void Info(ILogger logger, string callSid);

        [LoggerMessage(EventId = 6005, Level = LogLevel.Error, Message = "Call {CallSid}: handling a {Type} message failed")]
        public static partial void HandlerFailed(ILogger logger, Exception exception, string callSid, string type);

        [LoggerMessage(EventId = 6006, Level = LogLevel.Error, Message = "Call {CallSid}: the session could not start; the caller hears an apology")]
        public static partial void SetupFailed(ILogger logger, Exception exception, string callSid);

        [LoggerMessage(EventId = 6007, Level = LogLevel.Information, Message = "Call {CallSid}: connection lost")]
        public static partial void ConnectionLost(ILogger logger, Exception exception, string callSid);

        [LoggerMessage(EventId = 6008, Level = LogLevel.Warning, Message = "Call {CallSid}: sending failed; ending the session")]
        public static partial void SendFailed(ILogger logger, Exception exception, string callSid);

        [LoggerMessage(EventId = 6009, Level = LogLevel.Warning, Message = "Call {CallSid}: the running turn did not stop within the close timeout")]
        public static partial void TurnDidNotStop(ILogger logger, string callSid);

        [LoggerMessage(EventId = 6010, Level = LogLevel.Debug, Message = "Call {CallSid}: the close handshake did not complete")]
        public static partial void CloseFailed(ILogger logger, string callSid);

        [LoggerMessage(EventId = 6012, Level = LogLevel.Information, Message = "Call {CallSid}: drain window over; handing the call to another instance")]
        public static partial void HandingOver(ILogger logger, string callSid);

        [LoggerMessage(EventId = 6013, Level = LogLevel.Debug, Message = "Call {CallSid}: ignored a relay frame of unknown type '{Type}'")]
        public static partial void UnknownType(ILogger logger, string callSid, string type);

        [LoggerMessage(EventId = 6014, Level = LogLevel.Warning, Message = "Call {CallSid}: setup names call {SetupCallSid}, not the call this connection's ticket was issued for; closing with 1008")]
        public static partial void CallMismatch(ILogger logger, string callSid, string setupCallSid);

        [LoggerMessage(EventId = 6011, Level = LogLevel.Information, Message = "Call {CallSid}: relay session closed ({Status})")]
        public static partial void SessionClosed(ILogger logger, string callSid, WebSocketCloseStatus status);
    }
}
