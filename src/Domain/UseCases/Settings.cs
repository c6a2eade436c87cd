using System.Text.RegularExpressions;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Domain.UseCases;

/// <summary>
/// ConversationRelay attributes, named as Twilio names them. Null means "leave Twilio's default".
/// Interruptible values are Twilio's: "none", "dtmf", "speech", "any" (true/false are accepted aliases).
/// </summary>
public sealed record RelaySettings
{
    public string? Language { get; init; }

    public string? TtsLanguage { get; init; }

    public string? TranscriptionLanguage { get; init; }

    public string? TtsProvider { get; init; }

    public string? Voice { get; init; }

    public string? TranscriptionProvider { get; init; }

    public string? SpeechModel { get; init; }

    public string? Interruptible { get; init; }

    public string? WelcomeGreetingInterruptible { get; init; }

    public string? ReportInputDuringAgentSpeech { get; init; }

    public bool? DtmfDetection { get; init; }

    public bool? Preemptible { get; init; }

    public bool? PartialPrompts { get; init; }

    public IReadOnlyList<string> Hints { get; init; } = [];

    public string? Debug { get; init; }

    public string? ElevenlabsTextNormalization { get; init; }

    public string? IntelligenceService { get; init; }
}

/// <summary>Per-language voice and transcription settings (the TwiML <c>&lt;Language&gt;</c> element).</summary>
public sealed record LanguageOption(
    string Code,
    string? TtsProvider = null,
    string? Voice = null,
    string? TranscriptionProvider = null,
    string? SpeechModel = null);

/// <summary>How the model is called for this use case.</summary>
public sealed record ModelSettings
{
    /// <summary>Ordered model or inference-profile ids; the first is preferred, the rest are fallbacks.</summary>
    public IReadOnlyList<string> InferenceProfiles { get; init; } = [];

    public int MaxTokens { get; init; } = 512;

    public float? Temperature { get; init; }

    public float? TopP { get; init; }

    /// <summary>How many model → tools → model rounds one caller turn may take.</summary>
    public int MaxToolRounds { get; init; } = 4;

    /// <summary>"auto" (default), "any" (must call some tool), or the name of the one tool the model must call.</summary>
    public string? ToolChoice { get; init; }

    /// <summary>
    /// Prompt caching (default on): the request marks the cacheable prefix (base system prompt, tools, the history up
    /// to this turn) so the model reads it from its cache instead of processing it again. A model that does not cache
    /// ignores short prefixes; one that refuses the marks is asked without them.
    /// </summary>
    public bool PromptCaching { get; init; } = true;

    /// <summary>
    /// Preemptive answers (default on; needs the relay's partialPrompts): the model starts on the caller's words
    /// before their end of speech, and the answer is held until the final prompt confirms them.
    /// </summary>
    public bool Preemptive { get; init; } = true;

    /// <summary>
    /// Characters of history sent verbatim; past it, the older exchanges are folded into a running summary by a
    /// background model call, so a long call's requests stay bounded. Zero never folds.
    /// </summary>
    public int ContextBudgetChars { get; init; } = 24_000;

    /// <summary>The inference profile that writes the summaries (a cheaper one); by default the use case's own.</summary>
    public string? SummaryProfile { get; init; }

    public const int MinContextBudgetChars = 100;

    /// <summary>Sequences that end the answer where they appear (at most <see cref="MaxStopSequences"/>).</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    public const int MaxStopSequences = 4;
}

/// <summary>A tool the model may call, as declared to it.</summary>
public sealed partial record ToolSpec
{
    public ToolSpec(string name, string description, string inputSchemaJson)
    {
        if (!IsValidName(name))
        {
            throw new DomainException($"'{name}' is not a valid tool name (letters, digits, _ or -, 1-64, starting with a letter).");
        }

        if (string.IsNullOrWhiteSpace(description))
        {
            throw new DomainException($"Tool '{name}' needs a description.");
        }

        if (string.IsNullOrWhiteSpace(inputSchemaJson))
        {
            throw new DomainException($"Tool '{name}' needs an input schema.");
        }

        Name = name;
        Description = description;
        InputSchemaJson = inputSchemaJson;
    }

    public string Name { get; }

    public string Description { get; }

    public string InputSchemaJson { get; }

    /// <summary>Letters, digits, '_' or '-', 1 to 64, starting with a letter (what Bedrock and OpenAI accept).</summary>
    public static bool IsValidName(string? name) => name is not null && ValidName().IsMatch(name);

    [GeneratedRegex("^[a-zA-Z][a-zA-Z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ValidName();
}

/// <summary>What a key press does.</summary>
public abstract record DtmfAction;

/// <summary>Speak a fixed reply.</summary>
public sealed record DtmfReply(string Text) : DtmfAction;

/// <summary>Treat the key as if the caller had said <paramref name="Text"/>.</summary>
public sealed record DtmfPrompt(string Text) : DtmfAction;

/// <summary>Run a tool with fixed input (e.g. 0 → live_agent_handoff); <paramref name="Reply"/> is said when it succeeds.</summary>
public sealed record DtmfInvokeTool(string ToolName, string InputJson, string? Reply = null) : DtmfAction;

/// <summary>What happens when the caller says nothing: one reprompt, then a polite goodbye and the end of the call.</summary>
public sealed record SilenceSettings(TimeSpan Timeout, string RepromptLine, string GoodbyeLine);

public enum HandoffMode
{
    Dial,
    Enqueue,
}

/// <summary>Where a live-agent handoff goes once the relay session ends.</summary>
public sealed record HandoffSettings(HandoffMode Mode, string Target, string? Announcement = null);

/// <summary>
/// A rendered system prompt: <paramref name="Static"/> is the same for every call of the use case (cacheable),
/// <paramref name="PerCall"/> carries this call's values; the model reads them one after the other.
/// </summary>
public sealed record SystemPromptParts(string Static, string PerCall)
{
    public string Whole => PerCall.Length == 0 ? Static : Static + PerCall;
}
