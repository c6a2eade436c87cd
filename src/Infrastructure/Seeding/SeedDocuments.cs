using System.Text.Json;
using System.Text.Json.Serialization;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Infrastructure.Seeding;

/// <summary>A use case as written in seed/usecases/*.json (and stored by the DynamoDB seeding command).</summary>
internal sealed class UseCaseDocument
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    public string? SystemPrompt { get; set; }

    public string? Greeting { get; set; }

    public string? ApologyLine { get; set; }

    public string? GuardrailLine { get; set; }

    /// <summary>The numbers (E.164) this use case answers.</summary>
    public List<string>? PhoneNumbers { get; set; }

    public List<string>? FillerLines { get; set; }

    public SilenceSettings? Silence { get; set; }

    public RelaySettings? Relay { get; set; }

    public ModelDocument? Model { get; set; }

    public List<LanguageOption>? Languages { get; set; }

    /// <summary>Tool names; each must be registered as a tool handler to be offered to the model.</summary>
    public List<string>? Tools { get; set; }

    public Dictionary<string, DtmfDocument>? Dtmf { get; set; }

    public HandoffSettings? Handoff { get; set; }

    /// <summary>The use case's own patterns to redact from what callers say: name (the marker) and regular expression.</summary>
    public List<RedactionDocument>? Redact { get; set; }

    /// <summary>Days business records (orders, bookings) are kept; absent keeps them.</summary>
    public int? RecordRetentionDays { get; set; }

    /// <summary>Said before the greeting of every call, not interruptible.</summary>
    public string? ConsentLine { get; set; }

    /// <summary>The post-call record: summary (default true), extractionSchema (a JSON schema object), profile.</summary>
    public PostCallDocument? PostCall { get; set; }

    /// <summary>
    /// The relay section with its list defaults kept: the source-generated serializer leaves an omitted init-only
    /// list null rather than the record's empty default.
    /// </summary>
    private static RelaySettings WithDefaults(RelaySettings relay) =>
        relay.Hints is null ? relay with { Hints = [] } : relay;

    public UseCase ToDomain(string source)
    {
        try
        {
            var dtmf = Dtmf?.ToDictionary(kv => kv.Key, kv => kv.Value.ToDomain(kv.Key), StringComparer.Ordinal);
            return new UseCase(
                Id ?? string.Empty,
                Name ?? string.Empty,
                SystemPrompt ?? string.Empty,
                WithDefaults(Relay ?? new RelaySettings()),
                Model?.ToDomain() ?? new ModelSettings(),
                Greeting,
                Languages,
                Tools,
                dtmf,
                Handoff,
                ApologyLine,
                FillerLines,
                Silence,
                GuardrailLine,
                PhoneNumbers,
                Redact?.Select(r => new RedactionRule(r.Name ?? string.Empty, r.Pattern ?? string.Empty)).ToList(),
                RecordRetentionDays,
                PostCall?.ToDomain(),
                ConsentLine);
        }
        catch (DomainException ex)
        {
            throw new SeedDataException($"{source}: {ex.Message}", ex);
        }
    }
}

/// <summary>A use case's "postCall" section; the schema is written as JSON, not as a string.</summary>
internal sealed class PostCallDocument
{
    public bool? Summary { get; set; }

    public JsonElement? ExtractionSchema { get; set; }

    public string? Profile { get; set; }

    public PostCallSettings ToDomain() => new()
    {
        Summary = Summary ?? true,
        ExtractionSchemaJson = ExtractionSchema is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } schema ? schema.GetRawText() : null,
        Profile = Profile,
    };
}

/// <summary>One entry of a use case's "redact" list.</summary>
internal sealed class RedactionDocument
{
    public string? Name { get; set; }

    public string? Pattern { get; set; }
}

/// <summary>
/// A use case's "model" section. Its own type, with every field optional, so an omitted field keeps the domain's
/// default: the source-generated serializer sets every init-only property of a record, defaults included, to what the
/// JSON has (zero when absent) — a use case without "maxToolRounds" used to allow no tool round at all.
/// </summary>
internal sealed class ModelDocument
{
    public List<string>? InferenceProfiles { get; set; }

    public int? MaxTokens { get; set; }

    public float? Temperature { get; set; }

    public float? TopP { get; set; }

    public int? MaxToolRounds { get; set; }

    public string? ToolChoice { get; set; }

    public bool? PromptCaching { get; set; }

    public bool? Preemptive { get; set; }

    public int? ContextBudgetChars { get; set; }

    public string? SummaryProfile { get; set; }

    public List<string>? StopSequences { get; set; }

    public ModelSettings ToDomain()
    {
        var defaults = new ModelSettings();
        return defaults with
        {
            InferenceProfiles = InferenceProfiles ?? defaults.InferenceProfiles,
            MaxTokens = MaxTokens ?? defaults.MaxTokens,
            Temperature = Temperature,
            TopP = TopP,
            MaxToolRounds = MaxToolRounds ?? defaults.MaxToolRounds,
            ToolChoice = ToolChoice,
            PromptCaching = PromptCaching ?? defaults.PromptCaching,
            Preemptive = Preemptive ?? defaults.Preemptive,
            ContextBudgetChars = ContextBudgetChars ?? defaults.ContextBudgetChars,
            SummaryProfile = SummaryProfile,
            StopSequences = StopSequences ?? defaults.StopSequences,
        };
    }
}

internal sealed class DtmfDocument
{
    /// <summary>Speak this text.</summary>
    public string? Reply { get; set; }

    /// <summary>Treat the key as if the caller said this.</summary>
    public string? Prompt { get; set; }

    /// <summary>Run this tool (with <see cref="Input"/>); <see cref="Reply"/>, if any, is said when it succeeds.</summary>
    public string? Tool { get; set; }

    public JsonElement? Input { get; set; }

    public DtmfAction ToDomain(string digit) => (Reply, Prompt, Tool) switch
    {
        (_, null, { Length: > 0 } tool) => new DtmfInvokeTool(tool, Input is { ValueKind: JsonValueKind.Object } input ? input.GetRawText() : "{}", Reply),
        ({ Length: > 0 } reply, null, null) => new DtmfReply(reply),
        (null, { Length: > 0 } prompt, null) => new DtmfPrompt(prompt),
        _ => throw new DomainException($"key '{digit}' needs one of 'reply', 'prompt' or 'tool' (a tool may have a 'reply')."),
    };
}

/// <summary>A caller profile as written in seed/caller-profiles.json.</summary>
internal sealed class CallerProfileDocument
{
    public string? PhoneNumber { get; set; }

    public string? DisplayName { get; set; }

    public string? UseCaseId { get; set; }

    public string? PreferredLanguage { get; set; }

    public Dictionary<string, string>? Attributes { get; set; }

    public CallerProfile ToDomain(string source)
    {
        try
        {
            return new CallerProfile(PhoneNumber ?? string.Empty, DisplayName, UseCaseId, PreferredLanguage, Attributes);
        }
        catch (DomainException ex)
        {
            throw new SeedDataException($"{source}: {ex.Message}", ex);
        }
    }
}

/// <summary>A seed file that cannot be read or does not describe a valid use case or profile.</summary>
public sealed class SeedDataException : Exception
{
    public SeedDataException()
    {
    }

    public SeedDataException(string message)
        : base(message)
    {
    }

    public SeedDataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(UseCaseDocument))]
[JsonSerializable(typeof(List<CallerProfileDocument>))]
[JsonSerializable(typeof(CallerProfileDocument))]
internal sealed partial class SeedJsonContext : JsonSerializerContext;
