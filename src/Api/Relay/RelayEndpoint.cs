using VoiceAgent.Api.Twilio;

namespace VoiceAgent.Api.Relay;

internal static class RelayEndpoint
{
    public static IEndpointRouteBuilder MapRelayEndpoint(this IEndpointRouteBuilder app)
    {
        app.Map("/ws", AcceptAsync);
        return app;
    }

    private static async Task AcceptAsync(HttpContext context, RelayAdmission admission, RelaySessions sessions)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        var request = context.Request;
        var upgrade = new RelayUpgradeRequest(
            request.Path,
            request.QueryString.Value,
            request.Headers[TwilioRequestValidator.SignatureHeader].ToString(),
            WebhookGuard.Client(context),
            request.Query[RelayTicketCodec.QueryName].ToString());
        var (status, ticket) = await admission.AdmitAsync(upgrade, context.RequestAborted);
        if (ticket is null)
        {
            context.Response.StatusCode = status;
            return;
        }

        using var scope = sessions.BeginScope(ticket);
        sessions.Accepting(RelayTransport.Http);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await sessions.RunAsync(socket, ticket, context.RequestAborted);
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
