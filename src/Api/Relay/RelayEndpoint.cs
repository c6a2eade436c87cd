using Mediator;
using Microsoft.Extensions.Options;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;

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

        if (!validator.IsValidUpgrade(context.Request))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        if (drain.IsDraining)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();

        // Not linked to ApplicationStopping: a shutdown drains live calls instead of cutting them off.
        using var session = new RelaySession(socket, sender, registry, telemetry, options.Value, loggers.CreateLogger<RelaySession>(), context.RequestAborted);
        using var onDrain = drain.Draining.Register(static state => ((RelaySession)state!).BeginDrain(), session);
        await session.RunAsync();
    }
}
