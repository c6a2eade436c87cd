using FluentValidation;
using Mediator;
using Microsoft.Extensions.Options;
using VoiceAgent.Api.Relay;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Calls.AnswerCall;
using VoiceAgent.Application.Calls.EndSession;
using VoiceAgent.Application.Calls.OutboundStatus;
using VoiceAgent.Domain.Common;
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
        app.MapPost("/calls/status", CallStatusAsync).AddEndpointFilter<TwilioSignatureFilter>().DisableAntiforgery();
        return app;
    }

    private static async Task<IResult> AnswerAsync(
        HttpRequest request,
        ISender sender,
        IOptions<TwilioOptions> twilio,
        RelayTicketGuard tickets,
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
        string? greeting = null;
        if (request.Query[Operations.OutboundCalls.ContextQuery].ToString() is { Length: > 0 } sealedContext)
        {
            // An outbound call we placed was answered: its context was sealed by us, and Twilio signed the URL.
            if (tickets.Codec.OpenOutbound(sealedContext) is not { } outbound || outbound.ExpiresAt <= TimeProvider.System.GetUtcNow())
            {
                return Results.Content(Twiml.Unavailable(UnavailableLine), Twiml.ContentType);
            }

            var context = outbound.Call.Parameters;
            if (form["AnsweredBy"].ToString() is { } answeredBy && (answeredBy.StartsWith("machine", StringComparison.Ordinal) || answeredBy == "fax"))
            {
                return Results.Content(Twiml.Voicemail(context.GetValueOrDefault(Operations.OutboundCalls.VoicemailParameter)), Twiml.ContentType);
            }

            greeting = context.GetValueOrDefault(Operations.OutboundCalls.FirstLineParameter);
            command = command with
            {
                Outbound = true,
                UseCaseId = outbound.Call.UseCaseId,
                Context = context
                    .Where(kv => kv.Key is not (Operations.OutboundCalls.FirstLineParameter or Operations.OutboundCalls.VoicemailParameter))
                    .ToDictionary(StringComparer.Ordinal),
            };
        }

        try
        {
            var result = await sender.Send(command, cancellationToken);
            return Results.Content(RelayTwimlText(twilio.Value, tickets, result.UseCase, result.Call, greeting, language: null, speechFallback: false, consent: true), Twiml.ContentType);
        }
        catch (Exception ex) when (ex is not (ValidationException or OperationCanceledException))
        {
            // The caller hears a sentence instead of Twilio's generic application error.
            Log.AnswerFailed(loggers.CreateLogger(typeof(VoiceEndpoints).FullName!), ex, LogIds.Call(command.CallSid));
            return Results.Content(Twiml.Unavailable(UnavailableLine), Twiml.ContentType);
        }
    }

    /// <summary>
    /// The relay session is over. Twilio always gets TwiML back: a decision, or — for a callback this version cannot
    /// read — a hang-up, never an error status. A repeated callback gets the first answer again.
    /// </summary>
    private static async Task<IResult> EndSessionAsync(
        HttpRequest request,
        ISender sender,
        IOptions<TwilioOptions> twilio,
        RelayTicketGuard tickets,
        ActionReplies replies,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var form = await request.ReadFormAsync(cancellationToken);
        var command = new EndSession(
            form["CallSid"].ToString(),
            NullIfEmpty(form["SessionId"].ToString()),
            form["SessionStatus"].ToString(),
            NullIfEmpty(form["HandoffData"].ToString()),
            NullIfEmpty(form["ErrorMessage"].ToString()),
            int.TryParse(form["SessionDuration"].ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? seconds : null,
            NullIfEmpty(form["ErrorCode"].ToString()),
            NullIfEmpty(form["From"].ToString()),
            NullIfEmpty(form["To"].ToString()));
        var twiml = await replies.GetOrAnswerAsync(
            [command.CallSid, command.SessionId, command.SessionStatus, command.HandoffData],
            async () =>
            {
                try
                {
                    var decision = await sender.Send(command, CancellationToken.None);
                    return decision is Reconnect reconnect
                        ? RelayTwimlText(twilio.Value, tickets, reconnect.UseCase, reconnect.Call, reconnect.Greeting, reconnect.Language, reconnect.SpeechFallback)
                        : Twiml.SessionEnd(decision);
                }
                catch (ValidationException ex)
                {
                    Log.UnreadableCallback(loggers.CreateLogger(typeof(VoiceEndpoints).FullName!), string.Join("; ", ex.Errors.Select(e => e.PropertyName)));
                    return Twiml.SessionEnd(new HangUp(null));
                }
            });
        return Results.Content(twiml, Twiml.ContentType);
    }

    /// <summary>
    /// ConversationRelay TwiML pointing Twilio at this service's public /action and at /ws with a fresh relay ticket
    /// for <paramref name="call"/>: the relay URL is this call's alone, and Twilio's signature of the upgrade covers it.
    /// </summary>
    private static string RelayTwimlText(
        TwilioOptions options, RelayTicketGuard tickets, UseCase useCase, CallContext call, string? greeting, string? language, bool speechFallback, bool consent = false) =>
        Twiml.ConversationRelay(
            useCase,
            relayUrl: options.PublicUrl("/ws", $"?{RelayTicketCodec.QueryName}={tickets.Issue(call)}", webSocket: true),
            actionUrl: options.PublicUrl("/action", null),
            call.Parameters,
            greeting,
            language,
            speechFallback,
            consent);

    /// <summary>
    /// Twilio's status callback for a call we placed: one that was never answered (busy, no answer, failed,
    /// cancelled) is recorded as a failed call with that status as its error, so it is listed with the day's calls.
    /// </summary>
    private static async Task<IResult> CallStatusAsync(HttpRequest request, ISender sender, CancellationToken cancellationToken)
    {
        var form = await request.ReadFormAsync(cancellationToken);
        await sender.Send(
            new CallStatusReported(form["CallSid"].ToString(), form["From"].ToString(), form["To"].ToString(), form["CallStatus"].ToString()),
            cancellationToken);
        return Results.NoContent();
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static partial class Log
    {
        [LoggerMessage(EventId = 8001, Level = LogLevel.Error, Message = "Call {CallSid} could not be answered; the caller hears the unavailable line")]
        public static partial void AnswerFailed(ILogger logger, Exception exception, string callSid);

        [LoggerMessage(EventId = 8002, Level = LogLevel.Warning, Message = "A session-end callback could not be read ({Fields}); answered with a hang-up")]
        public static partial void UnreadableCallback(ILogger logger, string fields);
    }
}

/// <summary>
/// Refuses a webhook before it costs anything: a body over Twilio:MaxWebhookBytes (413, unread), a client that keeps
/// failing the check (429), and a request whose X-Twilio-Signature does not sign the public URL and the posted form
/// (403, nothing stored).
/// </summary>
internal sealed class TwilioSignatureFilter(TwilioRequestValidator validator, WebhookGuard guard) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var request = http.Request;
        if (guard.RefuseLargeBody(http))
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Twilio webhooks are a few kilobytes.");
        }

        if (guard.IsBlocked(http))
        {
            return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests with an invalid X-Twilio-Signature.");
        }

        if (!request.HasFormContentType)
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Twilio webhooks are form-encoded.");
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(http.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Twilio webhooks are a few kilobytes.");
        }

        if (!validator.IsValidWebhook(request, form))
        {
            guard.Failed(http);
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Invalid or missing X-Twilio-Signature.");
        }

        return await next(context);
    }
}
