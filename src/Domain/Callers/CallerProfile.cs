using VoiceAgent.Domain.Common;

namespace VoiceAgent.Domain.Callers;

/// <summary>What we know about a caller, keyed by their E.164 number.</summary>
public sealed record CallerProfile
{
    public CallerProfile(
        string phoneNumber,
        string? displayName = null,
        string? useCaseId = null,
        string? preferredLanguage = null,
        IReadOnlyDictionary<string, string>? attributes = null)
    {
        if (!PhoneNumbers.IsE164(phoneNumber))
        {
            throw new DomainException($"Caller profile number '{PhoneNumbers.Mask(phoneNumber)}' is not E.164.");
        }

        PhoneNumber = phoneNumber;
        DisplayName = displayName;
        UseCaseId = useCaseId;
        PreferredLanguage = preferredLanguage;
        Attributes = attributes ?? new Dictionary<string, string>();
    }

    public string PhoneNumber { get; }

    public string? DisplayName { get; }

    /// <summary>The use case this caller is routed to, overriding the default.</summary>
    public string? UseCaseId { get; }

    public string? PreferredLanguage { get; }

    /// <summary>Free-form values available to the system prompt as <c>{{caller.key}}</c>.</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; }

    /// <summary>Placeholder values this profile contributes to a system prompt.</summary>
    public IReadOnlyDictionary<string, string> PromptValues()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["caller.name"] = DisplayName ?? string.Empty,
            ["caller.language"] = PreferredLanguage ?? string.Empty,
        };
        foreach (var (key, value) in Attributes)
        {
            values["caller." + key] = value;
        }

        return values;
    }
}
