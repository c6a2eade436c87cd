using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using VoiceAgent.Api.Relay;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls;
using VoiceAgent.Domain.Common;
using Microsoft.Extensions.Options;

namespace VoiceAgent.Api.Operations;

/// <summary>Placing calls through Twilio's REST API ("Twilio").</summary>
public sealed class OutboundOptions
{
    public const string SectionName = "Twilio";

    /// <summary>The account the calls are placed on (AC…); with Twilio:AuthToken its basic-auth credentials.</summary>
    public string? AccountSid { get; set; }

    /// <summary>Twilio's REST API; a fake on loopback in tests.</summary>
    public Uri ApiBaseUrl { get; set; } = new("https://api.twilio.com");

    /// <summary>How long the outbound context in the TwiML URL stays valid (ringing, then answering).</summary>
    public TimeSpan OutboundContextLifetime { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>What <c>POST /calls</c> takes.</summary>
internal sealed record PlaceCallRequest(
    string? To,
    string? From,
    string? UseCaseId,
    string? FirstLine,
    Dictionary<string, string>? Context,
    bool MachineDetection,
    string? VoicemailLine);

/// <summary>
/// <c>POST /calls</c> (API key): places an outbound call for a use case through Twilio's Calls API. The TwiML URL
/// carries the call's context sealed (AES-GCM, the relay ticket's key with its own purpose), so what the callee's
/// session runs with is what was asked here: the use case, the first line, the context for the prompt, the voicemail
/// line when answering-machine detection finds a machine. Twilio's status callbacks come back to
/// <c>/calls/status</c>, signature-checked.
/// </summary>
internal static partial class OutboundCalls
{
    public const string ContextQuery = "outbound";
    public const string FirstLineParameter = "firstLine";
    public const string VoicemailParameter = "voicemailLine";
    private const int MaxContextEntries = 12;

    public static IEndpointRouteBuilder MapOutboundCalls(this IEndpointRouteBuilder app)
    {
        app.MapPost("/calls", PlaceAsync).AddEndpointFilter<ApiKeyFilter>();
        return app;
    }

    private static async Task<IResult> PlaceAsync(
        HttpRequest request,
        IHttpClientFactory http,
        IOptions<OutboundOptions> outbound,
        IOptions<TwilioOptions> twilio,
        RelayTicketCodec codec,
        ICallDirectory directory,
        TimeProvider time,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        PlaceCallRequest? body;
        try
        {
            body = await request.ReadFromJsonAsync(OutboundJsonContext.Default.PlaceCallRequest, cancellationToken);
        }
        catch (JsonException)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The body is not a call request (JSON: to, useCaseId, firstLine, context, machineDetection, voicemailLine).");
        }

        if (body?.To is not { } to || !PhoneNumbers.IsE164(to))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "'to' must be an E.164 number.");
        }

        if (body.UseCaseId is not { Length: > 0 } useCaseId || await directory.GetUseCaseAsync(useCaseId, cancellationToken) is not { } useCase)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "'useCaseId' must name a use case.");
        }

        var from = body.From ?? (useCase.PhoneNumbers.Count > 0 ? useCase.PhoneNumbers[0] : null);
        if (from is null || !PhoneNumbers.IsE164(from))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "'from' must be an E.164 number (by default the use case's first phone number).");
        }

        var context = body.Context ?? [];
        if (context.Count > MaxContextEntries || context.Any(kv => !ContextKey().IsMatch(kv.Key) || kv.Value is null || kv.Value.Length > 500)
            || (body.FirstLine?.Length ?? 0) > 1_000 || (body.VoicemailLine?.Length ?? 0) > 1_000)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"'context' takes at most {MaxContextEntries} entries named with letters, digits or '_' (up to 40), values up to 500 characters; lines up to 1,000.");
        }

        if (outbound.Value.AccountSid is not { Length: > 0 } account || twilio.Value.AuthToken is not { Length: > 0 } token)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Outbound calls need Twilio:AccountSid and Twilio:AuthToken.");
        }

        var parameters = new Dictionary<string, string>(context, StringComparer.Ordinal);
        if (body.FirstLine is { Length: > 0 } firstLine)
        {
            parameters[FirstLineParameter] = firstLine;
        }

        if (body.MachineDetection && body.VoicemailLine is { Length: > 0 } voicemail)
        {
            parameters[VoicemailParameter] = voicemail;
        }

        var sealedContext = codec.SealOutbound(new CallContext("outbound", from, to, useCase.Id, parameters), time.GetUtcNow() + outbound.Value.OutboundContextLifetime);
        var form = new List<KeyValuePair<string, string>>
        {
            new("To", to),
            new("From", from),
            new("Url", twilio.Value.PublicUrl("/twiml", $"?{ContextQuery}={sealedContext}")),
            new("Method", "POST"),
            new("StatusCallback", twilio.Value.PublicUrl("/calls/status", null)),
            new("StatusCallbackMethod", "POST"),
            new("StatusCallbackEvent", "initiated"),
            new("StatusCallbackEvent", "ringing"),
            new("StatusCallbackEvent", "answered"),
            new("StatusCallbackEvent", "completed"),
        };
        if (body.MachineDetection)
        {
            form.Add(new("MachineDetection", "Enable"));
        }

        using var client = http.CreateClient("twilio");
        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(outbound.Value.ApiBaseUrl, $"/2010-04-01/Accounts/{Uri.EscapeDataString(account)}/Calls.json"))
        {
            Content = new FormUrlEncodedContent(form),
        };
        post.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(account + ":" + token)));
        using var response = await client.SendAsync(post, cancellationToken);
        var answer = await response.Content.ReadAsStringAsync(cancellationToken);
        var logger = loggers.CreateLogger(typeof(OutboundCalls).FullName!);
        if (!response.IsSuccessStatusCode)
        {
            var message = TwilioError(answer);
            Log.Refused(logger, (int)response.StatusCode, message, PhoneNumbers.Mask(to));
            return Results.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Twilio refused the call.", detail: message);
        }

        using var created = JsonDocument.Parse(answer);
        var callSid = created.RootElement.GetProperty("sid").GetString()!;
        Log.Placed(logger, LogIds.Call(callSid), useCase.Id, PhoneNumbers.Mask(to));
        return Results.Json(new PlacedCall(callSid, useCase.Id), OutboundJsonContext.Default.PlacedCall, statusCode: StatusCodes.Status201Created);
    }

    private static string TwilioError(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("message", out var message) ? $"{message.GetString()} (code {(json.RootElement.TryGetProperty("code", out var code) ? code.GetRawText() : "?")})" : "(no message)";
        }
        catch (JsonException)
        {
            return "(no message)";
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_]{1,40}$")]
    private static partial Regex ContextKey();

    private static partial class Log
    {
        [LoggerMessage(EventId = 8101, Level = LogLevel.Information, Message = "Outbound call {CallSid} placed for use case {UseCaseId} to {To}")]
        public static partial void Placed(ILogger logger, string callSid, string useCaseId, string to);

        [LoggerMessage(EventId = 8102, Level = LogLevel.Warning, Message = "Twilio refused an outbound call to {To} ({Status}): {Message}")]
        public static partial void Refused(ILogger logger, int status, string message, string to);
    }
}

internal sealed record PlacedCall(string CallSid, string UseCaseId);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(PlaceCallRequest))]
[System.Text.Json.Serialization.JsonSerializable(typeof(PlacedCall))]
internal sealed partial class OutboundJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
