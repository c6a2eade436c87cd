using System.ComponentModel.DataAnnotations;
using VoiceAgent.Application.Common;

namespace VoiceAgent.Infrastructure.Llm.Bedrock;

/// <summary>Bedrock ConverseStream and its resilience. Bound from the "Bedrock" section and validated on start.</summary>
public sealed class BedrockOptions : IValidatableObject
{
    public const string SectionName = "Bedrock";

    /// <summary>AWS region of the runtime endpoint, e.g. us-east-1.</summary>
    public string? Region { get; set; }

    /// <summary>Override of https://bedrock-runtime.{Region}.amazonaws.com (VPC endpoint, tests).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Profiles used when a use case names none, in order of preference.</summary>
    public List<string> DefaultInferenceProfiles { get; set; } = [];

    /// <summary>Without a first token by then, the profile is abandoned for the next one.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "Bedrock:FirstTokenTimeout must be between 50 ms and 1 min.")]
    public TimeSpan FirstTokenTimeout { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// After the first token, the longest the stream may go without an event: then the answer ends with the recovery
    /// line and the stall counts against the profile's circuit breaker.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "Bedrock:StreamStallTimeout must be between 50 ms and 1 min.")]
    public TimeSpan StreamStallTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The longest a whole answer may stream.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Bedrock:RequestTimeout must be between 1 s and 10 min.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries on the same profile for throttling and 5xx, before moving on (0 = straight to the next).</summary>
    [Range(0, 5, ErrorMessage = "Bedrock:MaxRetryAttempts must be between 0 and 5.")]
    public int MaxRetryAttempts { get; set; } = 1;

    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ErrorMessage = "Bedrock:RetryBaseDelay must be between 0 and 10 s.")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Share of failed calls over <see cref="BreakerSamplingDuration"/> that opens a profile's circuit.</summary>
    [Range(0.01, 1.0, ErrorMessage = "Bedrock:BreakerFailureRatio must be between 0.01 and 1.")]
    public double BreakerFailureRatio { get; set; } = 0.5;

    [Range(2, 10_000, ErrorMessage = "Bedrock:BreakerMinimumThroughput must be at least 2.")]
    public int BreakerMinimumThroughput { get; set; } = 8;

    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00", ErrorMessage = "Bedrock:BreakerSamplingDuration must be between 0.5 s and 10 min.")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00", ErrorMessage = "Bedrock:BreakerBreakDuration must be between 0.5 s and 10 min.")]
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Start the next profile too when the first has no token after <see cref="HedgingDelay"/>; first token wins.</summary>
    public bool HedgingEnabled { get; set; }

    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30", ErrorMessage = "Bedrock:HedgingDelay must be between 10 ms and 30 s.")]
    public TimeSpan HedgingDelay { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Sent as performanceConfig.latency = optimized.</summary>
    public bool LatencyOptimized { get; set; }

    /// <summary>A JSON object passed through as additionalModelRequestFields.</summary>
    public string? AdditionalModelRequestFields { get; set; }

    public string? GuardrailIdentifier { get; set; }

    public string? GuardrailVersion { get; set; }

    /// <summary>
    /// "sync" or "async" guardrail processing of the stream. Unset: sync — every chunk is scanned before it is
    /// spoken (async speaks first and scans after, so unscanned text can reach the caller).
    /// </summary>
    public string? GuardrailStreamProcessingMode { get; set; }

    /// <summary>The processing mode sent: the configured one, or sync.</summary>
    public string EffectiveGuardrailStreamProcessingMode => GuardrailStreamProcessingMode ?? "sync";

    public Uri ResolveEndpoint() => Endpoint ?? new Uri($"https://bedrock-runtime.{Region}.amazonaws.com");

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(Region))
        {
            yield return new ValidationResult("Bedrock:Region is required, e.g. us-east-1.", [nameof(Region)]);
        }

        if (Endpoint is { IsAbsoluteUri: false })
        {
            yield return new ValidationResult("Bedrock:Endpoint must be an absolute URL.", [nameof(Endpoint)]);
        }

        if (GuardrailStreamProcessingMode is not (null or "sync" or "async"))
        {
            yield return new ValidationResult("Bedrock:GuardrailStreamProcessingMode must be sync or async.", [nameof(GuardrailStreamProcessingMode)]);
        }

        if (!string.IsNullOrWhiteSpace(AdditionalModelRequestFields) && !JsonText.IsObject(AdditionalModelRequestFields))
        {
            yield return new ValidationResult("Bedrock:AdditionalModelRequestFields must be a JSON object.", [nameof(AdditionalModelRequestFields)]);
        }
    }
}
