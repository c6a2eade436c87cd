using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Infrastructure.Llm.Bedrock;

/// <summary>What went wrong, in Bedrock's own terms, so the resilience layer can decide.</summary>
public enum BedrockErrorKind
{
    Throttling,
    ServiceUnavailable,
    InternalServer,
    ModelStreamError,
    ModelTimeout,
    ModelNotReady,
    ModelError,
    Validation,
    AccessDenied,
    ResourceNotFound,
    ServiceQuotaExceeded,
    FirstTokenTimeout,

    /// <summary>The stream went quiet after its first event for longer than Bedrock:StreamStallTimeout.</summary>
    StreamStalled,
    Unknown,
}

/// <summary>A Bedrock failure: an HTTP error before the stream, or an exception frame in it.</summary>
public sealed class BedrockException : LanguageModelUnavailableException
{
    public BedrockException()
    {
    }

    public BedrockException(string message)
        : base(message)
    {
    }

    public BedrockException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public BedrockException(BedrockErrorKind kind, string errorType, int? statusCode, string profile, string message)
        : base($"Bedrock {errorType} on {profile}{(statusCode is { } s ? $" (HTTP {s})" : string.Empty)}: {message}")
    {
        Kind = kind;
        ErrorType = errorType;
        StatusCode = statusCode;
        Profile = profile;
    }

    public BedrockErrorKind Kind { get; } = BedrockErrorKind.Unknown;

    /// <summary>The error type as Bedrock named it (x-amzn-ErrorType or :exception-type).</summary>
    public string ErrorType { get; } = "unknown";

    public int? StatusCode { get; }

    public string Profile { get; } = string.Empty;

    /// <summary>Worth trying again (same profile after a pause, or the next profile).</summary>
    public bool IsTransient => Kind is BedrockErrorKind.Throttling or BedrockErrorKind.ServiceUnavailable
        or BedrockErrorKind.InternalServer or BedrockErrorKind.ModelStreamError or BedrockErrorKind.ModelTimeout
        or BedrockErrorKind.ModelNotReady or BedrockErrorKind.ServiceQuotaExceeded or BedrockErrorKind.FirstTokenTimeout
        or BedrockErrorKind.StreamStalled;

    /// <summary>Maps Bedrock's error type names (with or without the "Exception" suffix, any case).</summary>
    public static BedrockErrorKind KindOf(string? errorType, int? statusCode)
    {
        var name = (errorType ?? string.Empty).Split(':')[0].Trim();
        if (name.EndsWith("Exception", StringComparison.OrdinalIgnoreCase))
        {
            name = name[..^"Exception".Length];
        }

        return name.ToUpperInvariant() switch
        {
            "THROTTLING" => BedrockErrorKind.Throttling,
            "SERVICEUNAVAILABLE" => BedrockErrorKind.ServiceUnavailable,
            "INTERNALSERVER" => BedrockErrorKind.InternalServer,
            "MODELSTREAMERROR" => BedrockErrorKind.ModelStreamError,
            "MODELTIMEOUT" => BedrockErrorKind.ModelTimeout,
            "MODELNOTREADY" => BedrockErrorKind.ModelNotReady,
            "MODELERROR" => BedrockErrorKind.ModelError,
            "VALIDATION" => BedrockErrorKind.Validation,
            "ACCESSDENIED" => BedrockErrorKind.AccessDenied,
            "RESOURCENOTFOUND" => BedrockErrorKind.ResourceNotFound,
            "SERVICEQUOTAEXCEEDED" => BedrockErrorKind.ServiceQuotaExceeded,
            _ => statusCode switch
            {
                400 => BedrockErrorKind.Validation,
                403 => BedrockErrorKind.AccessDenied,
                404 => BedrockErrorKind.ResourceNotFound,
                408 => BedrockErrorKind.ModelTimeout,
                424 => BedrockErrorKind.ModelError,
                429 => BedrockErrorKind.Throttling,
                500 => BedrockErrorKind.InternalServer,
                503 => BedrockErrorKind.ServiceUnavailable,
                _ => BedrockErrorKind.Unknown,
            },
        };
    }
}
