using Mediator;
using Microsoft.Extensions.Options;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Api.Relay;

internal static class RelayEndpoint
{
    public static IEndpointRouteBuilder MapRelayEndpoint(this IEndpointRouteBuilder app)
    {
        app.Map("/ws", AcceptAsync);
        return app;
    }

    private static async Task AcceptAsync(
        HttpContext context,
        TwilioRequestValidator validator,
        WebhookGuard guard,
        RelayTicketGuard tickets,
        ISender sender,
        IActiveCallRegistry registry,
        ConversationTelemetry telemetry,
        IOptions<RelayOptions> options,
        RelayDrain drain,
        ILoggerFactory loggers)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        if (guard.IsBlocked(context))
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            return;
        }

        if (!validator.IsValidUpgrade(context.Request))
        {
            guard.Failed(context);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        if (drain.IsDraining)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        // The ticket in the URL (which the signature covers) must be one this service handed out, unexpired and unused.
        var (verdict, ticket) = await tickets.AdmitAsync(context.Request.Query[RelayTicketCodec.QueryName].ToString(), context.RequestAborted);
        if (ticket is null)
        {
            if (verdict != TicketVerdict.StoreUnavailable)
            {
                guard.Failed(context);
            }

            context.Response.StatusCode = verdict == TicketVerdict.StoreUnavailable ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status403Forbidden;
            return;
        }

        // Everything this session logs, in any of its loops, turns and timers, carries the call's (masked) id.
        var logger = loggers.CreateLogger<RelaySession>();
        using var scope = logger.BeginScope(new CallScope(LogIds.Call(ticket.Call.CallSid)));
        using var socket = await context.WebSockets.AcceptWebSocketAsync();

        // Not linked to ApplicationStopping: a shutdown drains live calls instead of cutting them off.
        using var session = new RelaySession(socket, ticket.Call, sender, registry, telemetry, options.Value, logger, context.RequestAborted);
        using var onDrain = drain.Draining.Register(static state => ((RelaySession)state!).BeginDrain(), session);
        await session.RunAsync();
    }
}

/// <summary>The log scope of one relay session: a CallSid property, masked.</summary>
internal sealed class CallScope(string callSid) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public string CallSid { get; } = callSid;

    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new("CallSid", CallSid) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "CallSid:" + CallSid;
}
