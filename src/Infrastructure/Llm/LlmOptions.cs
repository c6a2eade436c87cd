using System.ComponentModel.DataAnnotations;

namespace VoiceAgent.Infrastructure.Llm;

public enum LlmProvider
{
    /// <summary>Any OpenAI-compatible chat endpoint: Ollama, vLLM, LM Studio, OpenAI itself.</summary>
    OpenAICompatible,

    /// <summary>AWS Bedrock ConverseStream with fallback across inference profiles (the "Bedrock" section).</summary>
    Bedrock,

    /// <summary>No model: a fixed answer at once, token by token. For load tests and benchmarks only.</summary>
    Instant,
}

/// <summary>Which model answers. Bound from the "Llm" section and validated on start.</summary>
public sealed class LlmOptions : IValidatableObject
{
    public const string SectionName = "Llm";

    public LlmProvider Provider { get; set; } = LlmProvider.OpenAICompatible;

    /// <summary>Base URL of the OpenAI-compatible API, e.g. http://localhost:11434/v1 for Ollama.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Model name on that endpoint, used when the use case names no inference profile.</summary>
    public string? Model { get; set; }

    /// <summary>API key; local servers accept any value.</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long a request may take before it counts as unreachable.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Llm:RequestTimeout must be between 1 s and 10 min.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Instant provider: how many tokens an answer has, and the pause between them.</summary>
    [Range(1, 10_000, ErrorMessage = "Llm:InstantTokens must be between 1 and 10000.")]
    public int InstantTokens { get; set; } = 12;

    /// <summary>Instant provider: the wait before the first token, plus up to <see cref="InstantFirstTokenJitter"/> more (a realistic model: 300 ms + 300 ms).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30", ErrorMessage = "Llm:InstantFirstTokenDelay must be between 0 and 30 s.")]
    public TimeSpan InstantFirstTokenDelay { get; set; } = TimeSpan.Zero;

    [Range(typeof(TimeSpan), "00:00:00", "00:00:30", ErrorMessage = "Llm:InstantFirstTokenJitter must be between 0 and 30 s.")]
    public TimeSpan InstantFirstTokenJitter { get; set; } = TimeSpan.Zero;

    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ErrorMessage = "Llm:InstantTokenDelay must be between 0 and 10 s.")]
    public TimeSpan InstantTokenDelay { get; set; } = TimeSpan.Zero;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == LlmProvider.OpenAICompatible)
        {
            if (Endpoint is null || !Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
            {
                yield return new ValidationResult(
                    "Llm:Endpoint must be an absolute http(s) URL of an OpenAI-compatible API, e.g. http://localhost:11434/v1.",
                    [nameof(Endpoint)]);
            }

            if (string.IsNullOrWhiteSpace(Model))
            {
                yield return new ValidationResult("Llm:Model is required for the OpenAICompatible provider, e.g. llama3.2.", [nameof(Model)]);
            }
        }
    }
}
