using Microsoft.Extensions.Options;

namespace VoiceAgent.Api.Twilio;

/// <summary>How Twilio reaches us and how we check that it was Twilio. Bound from the "Twilio" section.</summary>
public sealed class TwilioOptions
{
    public const string SectionName = "Twilio";

    /// <summary>The account's auth token: the key of X-Twilio-Signature.</summary>
    public string? AuthToken { get; set; }

    /// <summary>
    /// The public https URL Twilio calls, e.g. https://voice.example.com. Signatures are checked against this
    /// URL (plus the request's path and query), never one rebuilt from the request behind a load balancer.
    /// </summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>Off only for local development, and only in the Development environment.</summary>
    public bool ValidateSignatures { get; set; } = true;

    /// <summary>The largest webhook body read (Twilio's are a few KB); a larger one is answered 413 unread.</summary>
    [System.ComponentModel.DataAnnotations.Range(1_024, 1_048_576, ErrorMessage = "Twilio:MaxWebhookBytes must be between 1 KiB and 1 MiB.")]
    public int MaxWebhookBytes { get; set; } = 64 * 1024;

    /// <summary>Requests per client and minute that may fail the signature (or relay ticket) check before the rest are answered 429.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 100_000, ErrorMessage = "Twilio:SignatureFailuresPerMinute must be between 1 and 100,000.")]
    public int SignatureFailuresPerMinute { get; set; } = 20;

    /// <summary>The URL a path was requested at, as Twilio saw it.</summary>
    public string PublicUrl(string path, string? query, bool webSocket = false)
    {
        var baseUrl = PublicBaseUrl ?? throw new InvalidOperationException("Twilio:PublicBaseUrl is not configured.");
        var scheme = baseUrl.Scheme;
        if (webSocket)
        {
            scheme = string.Equals(scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase) ? "wss" : "ws";
        }

        var authority = baseUrl.IsDefaultPort ? baseUrl.Host : $"{baseUrl.Host}:{baseUrl.Port}";
        var prefix = baseUrl.AbsolutePath.TrimEnd('/');
        return $"{scheme}://{authority}{prefix}{path}{query}";
    }
}

internal sealed class TwilioOptionsValidator(IHostEnvironment environment) : IValidateOptions<TwilioOptions>
{
    public ValidateOptionsResult Validate(string? name, TwilioOptions options)
    {
        var failures = new List<string>();
        if (options.PublicBaseUrl is not { IsAbsoluteUri: true } url
            || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)
            || !string.IsNullOrEmpty(url.Query))
        {
            failures.Add("Twilio:PublicBaseUrl must be the absolute http(s) URL Twilio calls, without a query, e.g. https://voice.example.com.");
        }

        if (options.ValidateSignatures && string.IsNullOrWhiteSpace(options.AuthToken))
        {
            failures.Add("Twilio:AuthToken is required to check X-Twilio-Signature. (For local development only, Twilio:ValidateSignatures=false turns the check off.)");
        }

        if (!options.ValidateSignatures && !environment.IsDevelopment())
        {
            failures.Add($"Twilio:ValidateSignatures=false is only allowed in the Development environment, not in '{environment.EnvironmentName}'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
