using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using VoiceAgent.Api.Twilio;

namespace VoiceAgent.Api.Relay;

/// <summary>
/// Kestrel connection middleware that serves the relay's WebSocket below Kestrel's HTTP/1 layer. An upgraded HTTP/1
/// request keeps its whole request machinery alive for the call (connection, request and response headers, body
/// streams, HTTP context, the middleware pipeline's awaits): most of an idle call's memory. When a connection's first
/// request is a plain relay upgrade (<see cref="RelayUpgradeHead"/>), this handler admits it exactly as the /ws
/// endpoint does (<see cref="RelayAdmission"/>), answers 101 itself and runs the session on a WebSocket over the
/// connection's own pipes. Any other first request — webhooks, health checks, an unusual upgrade — goes on to Kestrel
/// unread, and /ws behind it still serves what comes that way (Relay:ServeBelowHttp=false turns this handler off; so
/// does a Kestrel MaxConcurrentUpgradedConnections limit, which only Kestrel's HTTP layer can count).
/// </summary>
internal sealed partial class RelayConnectionHandler
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private readonly ConnectionDelegate _next;
    private readonly RelayAdmission _admission;
    private readonly RelaySessions _sessions;
    private readonly TimeProvider _time;
    private readonly TimeSpan _headTimeout;
    private readonly bool _passThrough;
    private readonly bool _serverHeader;
    private readonly bool _trustForwarded;
    private readonly WebSocketCreationOptions _socketOptions;
    private readonly ILogger<RelayConnectionHandler> _logger;

    public RelayConnectionHandler(
        ConnectionDelegate next,
        RelayAdmission admission,
        RelaySessions sessions,
        TimeProvider time,
        IOptions<KestrelServerOptions> kestrel,
        IConfiguration configuration,
        ILogger<RelayConnectionHandler> logger)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        _next = next;
        _admission = admission;
        _sessions = sessions;
        _time = time;
        _headTimeout = kestrel.Value.Limits.RequestHeadersTimeout;

        // Kestrel counts upgraded requests against this limit; connections served here would not be counted.
        _passThrough = kestrel.Value.Limits.MaxConcurrentUpgradedConnections is not null;
        _serverHeader = kestrel.Value.AddServerHeader;
        _trustForwarded = configuration.GetValue<bool>("Http:TrustForwardedHeaders");
        _logger = logger;
        var relay = sessions.Options;
        _socketOptions = new WebSocketCreationOptions
        {
            IsServer = true,
            KeepAliveInterval = relay.KeepAliveInterval,
            KeepAliveTimeout = relay.PongTimeout,
        };
    }

    public async Task OnConnectedAsync(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var head = _passThrough ? null : await ReadHeadAsync(connection).ConfigureAwait(false);
        if (head is null)
        {
            await _next(connection).ConfigureAwait(false);
            return;
        }

        // One method holds a live call (not one frame per step): every await frame stays for the whole call.
        RelayTicket? ticket;
        try
        {
            ticket = await AcceptAsync(connection, head).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unexpected(ex, connection))
        {
            Log.Failed(_logger, ex, connection.ConnectionId);
            return;
        }
        catch
        {
            // The caller's side went away while the upgrade was being decided or answered.
            return;
        }

        head = null;
        if (ticket is null)
        {
            // A refused upgrade leaves a keep-alive connection, as Kestrel's answer would: its next requests are Kestrel's.
            await _next(connection).ConfigureAwait(false);
            return;
        }

        try
        {
            using var span = RelaySessions.StartServerSpan();
            using var scope = _sessions.BeginScope(ticket);
            using var socket = WebSocket.CreateFromStream(new DuplexPipeStream(connection.Transport), _socketOptions);
            await _sessions.RunAsync(socket, ticket, connection.ConnectionClosed).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unexpected(ex, connection))
        {
            Log.Failed(_logger, ex, connection.ConnectionId);
        }
        catch
        {
            // The connection is gone; the session has ended.
        }
    }

    private static bool Unexpected(Exception ex, ConnectionContext connection) =>
        !(ex is OperationCanceledException or IOException && connection.ConnectionClosed.IsCancellationRequested);

    /// <summary>
    /// The head of a relay upgrade, consumed from the connection's input; or null with nothing consumed, so Kestrel's
    /// HTTP layer reads the same bytes (and, for a head that never completes, applies its own timeouts).
    /// </summary>
    private async Task<RelayUpgradeHead?> ReadHeadAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        using var timeout = new CancellationTokenSource(_headTimeout, _time);

        // A server shutting down asks its connections to close: one that has not spoken yet goes to Kestrel at once,
        // which closes it, instead of holding the shutdown until it is aborted.
        var closing = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var onClosing = closing.Register(static state => ((CancellationTokenSource)state!).Cancel(), timeout);
        long examined = 0;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var verdict = RelayUpgradeHead.TryRead(buffer, out var head, out var length);
                if (verdict == HeadVerdict.Ours)
                {
                    input.AdvanceTo(buffer.GetPosition(length));
                    return head;
                }

                if (verdict == HeadVerdict.NotOurs || result.IsCompleted || result.IsCanceled)
                {
                    // Examined no further than before: bytes that came since stay unexamined, so Kestrel's first read
                    // returns them at once instead of waiting for more.
                    input.AdvanceTo(buffer.Start, buffer.GetPosition(Math.Min(examined, buffer.Length)));
                    return null;
                }

                examined = buffer.Length;
                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Admits the upgrade and answers 101 (its ticket), or answers the refusal (null).</summary>
    private async Task<RelayTicket?> AcceptAsync(ConnectionContext connection, RelayUpgradeHead head)
    {
        var query = head.Query;
        var ticketText = query is null ? null : QueryHelpers.ParseQuery(query).GetValueOrDefault(RelayTicketCodec.QueryName).ToString();
        var request = new RelayUpgradeRequest(RelayUpgradeHead.Path, query, head.Signature, Client(connection, head), ticketText);
        var (status, ticket) = await _admission.AdmitAsync(request, connection.ConnectionClosed).ConfigureAwait(false);
        var output = connection.Transport.Output;
        if (ticket is null)
        {
            // Answered as Kestrel answers the endpoint's refusals.
            await WriteAsync(output, $"HTTP/1.1 {status} {ReasonPhrases.GetReasonPhrase(status)}\r\nContent-Length: 0\r\nDate: {Date()}\r\n{Server()}\r\n").ConfigureAwait(false);
            return null;
        }

        _sessions.Accepting(RelayTransport.Connection);
        await WriteAsync(output, $"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nDate: {Date()}\r\n{Server()}Upgrade: websocket\r\nSec-WebSocket-Accept: {AcceptKey(head.Key)}\r\n\r\n").ConfigureAwait(false);
        return ticket;
    }

    /// <summary>Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2): SHA-1 is the protocol's, not a security choice.</summary>
    internal static string AcceptKey(string key)
    {
#pragma warning disable CA5350 // RFC 6455 fixes SHA-1 for the handshake's accept value; it protects nothing.
        return Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
#pragma warning restore CA5350
    }

    private string Client(ConnectionContext connection, RelayUpgradeHead head)
    {
        // As UseForwardedHeaders is set up (Http:TrustForwardedHeaders): the last address the load balancer appended.
        if (_trustForwarded && head.ForwardedFor is { } forwarded)
        {
            var last = forwarded.AsSpan(forwarded.LastIndexOf(',') + 1).Trim();
            if (IPEndPoint.TryParse(last, out var endPoint))
            {
                return WebhookGuard.Client(endPoint.Address);
            }
        }

        return WebhookGuard.Client((connection.RemoteEndPoint as IPEndPoint)?.Address);
    }

    private string Date() => _time.GetUtcNow().ToString("r", CultureInfo.InvariantCulture);

    private string Server() => _serverHeader ? "Server: Kestrel\r\n" : string.Empty;

    private static async Task WriteAsync(PipeWriter output, string text)
    {
        output.Write(Encoding.ASCII.GetBytes(text));
        await output.FlushAsync().ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6110, Level = LogLevel.Error, Message = "Relay connection {ConnectionId} failed")]
        public static partial void Failed(ILogger logger, Exception exception, string connectionId);
    }
}
