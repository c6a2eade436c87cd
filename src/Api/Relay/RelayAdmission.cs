using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Mediator;
using Microsoft.Extensions.Options;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Api.Relay;

/// <summary>What a relay upgrade says, whichever layer read it: Kestrel's HTTP request or the connection handler.</summary>
/// <param name="Path">The request path (always /ws).</param>
/// <param name="Query">The raw query string with its '?' (the signature covers it), or null.</param>
/// <param name="Signature">X-Twilio-Signature, or null.</param>
/// <param name="Client">The client address the guard counts failures under.</param>
/// <param name="Ticket">The relay ticket from the query, decoded, or null.</param>
internal readonly record struct RelayUpgradeRequest(string Path, string? Query, string? Signature, string Client, string? Ticket);

/// <summary>
/// Decides a relay upgrade, the same for both ways in: a client over its failure budget gets 429, a bad signature 403,
/// a draining instance 503, and the ticket must be this service's, unexpired and unused (403; 503 when the store must
/// record its use and cannot).
/// </summary>
internal sealed class RelayAdmission(TwilioRequestValidator validator, WebhookGuard guard, RelayTicketGuard tickets, RelayDrain drain)
{
    /// <summary>The ticket when admitted; otherwise the status to answer with.</summary>
    public async Task<(int Status, RelayTicket? Ticket)> AdmitAsync(RelayUpgradeRequest request, CancellationToken cancellationToken)
    {
        if (guard.IsBlocked(request.Client))
        {
            return (StatusCodes.Status429TooManyRequests, null);
        }

        if (!validator.IsValidUpgrade(request.Path, request.Query, request.Signature))
        {
            guard.Failed(request.Client);
            return (StatusCodes.Status403Forbidden, null);
        }

        if (drain.IsDraining)
        {
            return (StatusCodes.Status503ServiceUnavailable, null);
        }

        // The ticket in the URL (which the signature covers) must be one this service handed out, unexpired and unused.
        var (verdict, ticket) = await tickets.AdmitAsync(request.Ticket, cancellationToken).ConfigureAwait(false);
        if (ticket is not null)
        {
            return (StatusCodes.Status101SwitchingProtocols, ticket);
        }

        if (verdict == TicketVerdict.StoreUnavailable)
        {
            return (StatusCodes.Status503ServiceUnavailable, null);
        }

        guard.Failed(request.Client);
        return (StatusCodes.Status403Forbidden, null);
    }
}

/// <summary>Which layer accepted a relay WebSocket (the voiceagent.relay.upgrades counter's transport tag).</summary>
internal enum RelayTransport
{
    /// <summary>Kestrel's HTTP/1 request, upgraded (any server, and the fallback).</summary>
    Http,

    /// <summary>The connection handler below Kestrel's HTTP layer: only the socket, its pipes and the WebSocket stay.</summary>
    Connection,
}

/// <summary>Runs an admitted relay session on its WebSocket, for either way in.</summary>
internal sealed class RelaySessions
{
    /// <summary>The relay's spans (traced with "VoiceAgent.*" when OpenTelemetry is configured).</summary>
    public static readonly ActivitySource Source = new("VoiceAgent.Relay");

    private readonly ISender _sender;
    private readonly IActiveCallRegistry _registry;
    private readonly ConversationTelemetry _telemetry;
    private readonly RelayOptions _options;
    private readonly RelayDrain _drain;
    private readonly Counter<long> _upgrades;
    private readonly KeyValuePair<string, object?> _overHttp = new("transport", "http");
    private readonly KeyValuePair<string, object?> _overConnection = new("transport", "connection");

    public RelaySessions(
        ISender sender,
        IActiveCallRegistry registry,
        ConversationTelemetry telemetry,
        IOptions<RelayOptions> options,
        RelayDrain drain,
        IMeterFactory meters,
        ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(loggers);
        _sender = sender;
        _registry = registry;
        _telemetry = telemetry;
        _options = options.Value;
        _drain = drain;
        Logger = loggers.CreateLogger<RelaySession>();
        _upgrades = meters.Create("VoiceAgent.Relay").CreateCounter<long>("voiceagent.relay.upgrades", description: "Relay WebSockets accepted, by the layer that accepted them");
    }

    /// <summary>The sessions' logger; open the call's scope on it before accepting the socket.</summary>
    public ILogger Logger { get; }

    public RelayOptions Options => _options;

    /// <summary>The log scope of a session: the call's (masked) id, in every loop, turn and timer of it.</summary>
    public IDisposable? BeginScope(RelayTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        return Logger.BeginScope(new CallScope(LogIds.Call(ticket.Call.CallSid)));
    }

    /// <summary>
    /// Below HTTP there is no request span: this one stands in for it (a server span of the session's life, named as
    /// ASP.NET Core names the request's), so a call's turns stay one trace. Null when nobody listens.
    /// </summary>
    public static Activity? StartServerSpan()
    {
        var activity = Source.StartActivity("GET /ws", ActivityKind.Server);
        activity?.SetTag("http.request.method", "GET");
        activity?.SetTag("url.path", "/ws");
        activity?.SetTag("http.response.status_code", StatusCodes.Status101SwitchingProtocols);
        return activity;
    }

    /// <summary>Counts an admitted upgrade by the layer accepting it, before its 101 goes out.</summary>
    public void Accepting(RelayTransport transport) =>
        _upgrades.Add(1, transport == RelayTransport.Connection ? _overConnection : _overHttp);

    /// <summary>Runs the session until the call ends or <paramref name="aborted"/> (the connection is gone).</summary>
    public Task RunAsync(WebSocket socket, RelayTicket ticket, CancellationToken aborted)
    {
        ArgumentNullException.ThrowIfNull(ticket);

        // Not linked to ApplicationStopping: a shutdown drains live calls instead of cutting them off. The session
        // disposes itself when it ends (no await here: one less frame held for every live call).
        var session = new RelaySession(socket, ticket.Call, _sender, _registry, _telemetry, _options, Logger, aborted);
        return session.RunAsync(_drain.Draining);
    }
}
