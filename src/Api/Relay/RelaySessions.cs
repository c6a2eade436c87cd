using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Mediator;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Api.Relay;

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
