using Mediator;
using Microsoft.Extensions.Options;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls;

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
        IOptions<RelayOptions> options,
        IHostApplicationLifetime lifetime,
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

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        using var session = new RelaySession(socket, sender, registry, options.Value, loggers.CreateLogger<RelaySession>(), stop.Token);
        await session.RunAsync();
    }
}
