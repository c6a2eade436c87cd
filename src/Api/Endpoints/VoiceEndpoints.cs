using FluentValidation;
using Mediator;
using Microsoft.Extensions.Options;
using VoiceAgent.Api.Relay;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls.AnswerCall;
using VoiceAgent.Application.Calls.EndSession;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Api.Endpoints;

/// <summary>Twilio's voice webhooks: the incoming call (/twiml) and the end of the relay session (/action).</summary>
internal static partial class VoiceEndpoints
{
    private const string UnavailableLine = "Sorry, we can't take your call right now. Please try again later.";

    public static IEndpointRouteBuilder MapVoiceEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/twiml", AnswerAsync).AddEndpointFilter<TwilioSignatureFilter>().DisableAntiforgery();
        app.MapPost("/action", EndSessionAsync).AddEndpointFilter<TwilioSignatureFilter>().DisableAntiforgery();
        return app;
    }

    private static async Task<IResult> AnswerAsync(
        HttpRequest request,
        ISender sender,
        IOptions<TwilioOptions> twilio,
        RelayDrain drain,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        if (drain.IsDraining)
        {
            // Not ready: the load balancer (or Twilio's fallback URL) sends the call to another instance.
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "This instance is shutting down.");
        }

        var form = await request.ReadFormAsync(cancellationToken);
        var command = new AnswerCall(form["CallSid"].ToString(), form["From"].ToString(), form["To"].ToString());
        try
        {
            var result = await sender.Send(command, cancellationToken);
            return RelayTwiml(twilio.Value, result.UseCase, result.Parameters, greeting: null);
        }
        catch (Exception ex) when (ex is not (ValidationException or OperationCanceledException))
        {
            // The caller hears a sentence instead of Twilio's generic application error.
            Log.AnswerFailed(loggers.CreateLogger(typeof(VoiceEndpoints).FullName!), ex, command.CallSid);
            return Results.Content(Twiml.Unavailable(UnavailableLine), Twiml.ContentType);
        }
    }

    private static async Task<IResult> EndSessionAsync(HttpRequest request, ISender sender, IOptions<TwilioOptions> twilio, CancellationToken cancellationToken)
    {
        var form = await request.ReadFormAsync(cancellationToken);
        var command = new EndSession(
            form["CallSid"].ToString(),
            NullIfEmpty(form["SessionId"].ToString()),
            form["SessionStatus"].ToString(),
            NullIfEmpty(form["HandoffData"].ToString()),
            NullIfEmpty(form["ErrorMessage"].ToString()));
        var decision = await sender.Send(command, cancellationToken);
        return decision is Reconnect reconnect
            ? RelayTwiml(twilio.Value, reconnect.UseCase, reconnect.Parameters, reconnect.Greeting, reconnect.Language)
            : Results.Content(Twiml.SessionEnd(decision), Twiml.ContentType);
    }

    /// <summary>ConversationRelay TwiML pointing Twilio at this service's public /ws and /action.</summary>
    private static IResult RelayTwiml(TwilioOptions options, UseCase useCase, IReadOnlyDictionary<string, string> parameters, string? greeting, string? language = null) =>
        Results.Content(
            Twiml.ConversationRelay(
                useCase,
                relayUrl: options.PublicUrl("/ws", null, webSocket: true),
                actionUrl: options.PublicUrl("/action", null),
                parameters,
                greeting,
                language),
            Twiml.ContentType);

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static partial class Log
    {
        [LoggerMessage(EventId = 8001, Level = LogLevel.Error, Message = "Call {CallSid} could not be answered; the caller hears the unavailable line")]
        public static partial void AnswerFailed(ILogger logger, Exception exception, string callSid);
    }
}

/// <summary>Refuses a webhook whose X-Twilio-Signature does not sign the public URL and the posted form: 403, nothing stored.</summary>
internal sealed class TwilioSignatureFilter(TwilioRequestValidator validator) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var request = context.HttpContext.Request;
        if (!request.HasFormContentType)
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Twilio webhooks are form-encoded.");
        }

        var form = await request.ReadFormAsync(context.HttpContext.RequestAborted);
        if (!validator.IsValidWebhook(request, form))
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Invalid or missing X-Twilio-Signature.");
        }

        return await next(context);
    }
}
