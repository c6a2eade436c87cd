using Microsoft.Extensions.Options;

namespace VoiceAgent.Api.Twilio;

/// <summary>Checks X-Twilio-Signature on webhooks and on the relay's WebSocket upgrade.</summary>
internal sealed partial class TwilioRequestValidator(IOptions<TwilioOptions> options, ILogger<TwilioRequestValidator> logger)
{
    public const string SignatureHeader = "X-Twilio-Signature";

    public bool Enabled => options.Value.ValidateSignatures;

    /// <summary>A form-encoded webhook: the URL Twilio called plus every posted field.</summary>
    public bool IsValidWebhook(HttpRequest request, IFormCollection form)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(form);
        if (!Enabled)
        {
            return true;
        }

        var parameters = new List<KeyValuePair<string, string>>(form.Count);
        foreach (var (key, values) in form)
        {
            foreach (var value in values)
            {
                parameters.Add(new(key, value ?? string.Empty));
            }
        }

        return Check(request.Path, request.Headers[SignatureHeader].ToString(), options.Value.PublicUrl(request.Path, request.QueryString.Value), parameters);
    }

    /// <summary>
    /// The WebSocket upgrade (read by Kestrel or below it): Twilio signs the wss:// URL with no parameters. The path,
    /// the raw query with its '?', and X-Twilio-Signature.
    /// </summary>
    public bool IsValidUpgrade(string path, string? query, string? signature) =>
        !Enabled || Check(path, signature, options.Value.PublicUrl(path, query, webSocket: true), []);

    private bool Check(string path, string? signature, string url, IReadOnlyCollection<KeyValuePair<string, string>> parameters)
    {
        if (string.IsNullOrEmpty(signature))
        {
            Log.Missing(logger, path);
            return false;
        }

        if (TwilioSignature.IsValid(options.Value.AuthToken!, url, parameters, signature))
        {
            return true;
        }

        // The URL without its query: a relay ticket is a credential, never logged.
        Log.Mismatch(logger, path, url.Split('?')[0]);
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Refused {Path}: no X-Twilio-Signature")]
        public static partial void Missing(ILogger logger, string path);

        [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Refused {Path}: X-Twilio-Signature does not match {Url} (check Twilio:PublicBaseUrl and Twilio:AuthToken)")]
        public static partial void Mismatch(ILogger logger, string path, string url);
    }
}
