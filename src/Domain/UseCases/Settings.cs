using System.Text.RegularExpressions;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Domain.UseCases;

/// <summary>
/// ConversationRelay attributes, named as Twilio names them (every attribute of the TwiML noun but the url, the
/// greeting and the language list, which come from elsewhere). Null means "leave Twilio's default". Values Twilio
/// documents as a fixed set are checked when the use case loads (<see cref="Validate"/>), so a typo stops the seed
/// instead of failing a live call. Interruptible values are Twilio's: "none", "dtmf", "speech", "any" (true/false
/// are accepted aliases).
/// </summary>
public sealed partial record RelaySettings
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

    /// <summary>"low", "medium" or "high": how readily caller speech interrupts the agent.</summary>
    public string? InterruptSensitivity { get; init; }

    public bool? DtmfDetection { get; init; }

    public bool? Preemptible { get; init; }

    public bool? PartialPrompts { get; init; }

    /// <summary>Whether profanities are masked in the transcription (Twilio's default: true).</summary>
    public bool? ProfanityFilter { get; init; }

    public IReadOnlyList<string> Hints { get; init; } = [];

    public string? Debug { get; init; }

    public string? ElevenlabsTextNormalization { get; init; }

    public string? IntelligenceService { get; init; }

    /// <summary>The silence that ends the caller's speech (Twilio's value format, e.g. "auto").</summary>
    public string? SpeechTimeout { get; init; }

    /// <summary>Background noise filtering before transcription.</summary>
    public string? BackgroundNoiseReduction { get; init; }

    /// <summary>Deepgram's smart formatting of transcripts (numbers, dates, currency).</summary>
    public bool? DeepgramSmartFormat { get; init; }

    /// <summary>Brief acknowledgements ("uh-huh") do not interrupt the agent.</summary>
    public bool? IgnoreBackchannel { get; init; }

    /// <summary>Event subscriptions of the session.</summary>
    public string? Events { get; init; }

    /// <summary>Twilio's turn detection for the session.</summary>
    public string? TurnDetection { get; init; }

    /// <summary>
    /// The speech providers to reconnect with when a session fails because of its transcription or TTS provider
    /// (at most once per call); null hangs up with the apology instead.
    /// </summary>
    public SpeechFallback? Fallback { get; init; }

    private static readonly string[] InterruptValues = ["none", "dtmf", "speech", "any", "true", "false"];
    private static readonly string[] Sensitivities = ["low", "medium", "high"];
    private static readonly string[] Normalisations = ["on", "off", "auto"];
    internal static readonly string[] TtsProviders = ["Google", "Amazon", "ElevenLabs"];
    internal static readonly string[] TranscriptionProviders = ["Google", "Deepgram"];

    /// <summary>Throws a <see cref="DomainException"/> naming the first attribute Twilio would not accept.</summary>
    public void Validate(string useCaseId)
    {
        void Fail(string message) => throw new DomainException($"Use case '{useCaseId}': relay.{message}");

        OneOf(Interruptible, InterruptValues, "interruptible", Fail);
        OneOf(WelcomeGreetingInterruptible, InterruptValues, "welcomeGreetingInterruptible", Fail);
        OneOf(ReportInputDuringAgentSpeech, InterruptValues, "reportInputDuringAgentSpeech", Fail);
        OneOf(InterruptSensitivity, Sensitivities, "interruptSensitivity", Fail);
        OneOf(ElevenlabsTextNormalization, Normalisations, "elevenlabsTextNormalization", Fail);
        OneOf(TtsProvider, TtsProviders, "ttsProvider", Fail);
        OneOf(TranscriptionProvider, TranscriptionProviders, "transcriptionProvider", Fail);
        LanguageCode(Language, "language", Fail);
        LanguageCode(TtsLanguage, "ttsLanguage", Fail);
        LanguageCode(TranscriptionLanguage, "transcriptionLanguage", Fail);
        Token(Voice, "voice", Fail);
        Token(SpeechModel, "speechModel", Fail);
        Token(IntelligenceService, "intelligenceService", Fail);
        Token(SpeechTimeout, "speechTimeout", Fail);
        Token(BackgroundNoiseReduction, "backgroundNoiseReduction", Fail);
        Token(TurnDetection, "turnDetection", Fail);
        Words(Debug, "debug", Fail);
        Words(Events, "events", Fail);
        if (Hints.Any(h => string.IsNullOrWhiteSpace(h) || h.Contains(',', StringComparison.Ordinal) || h.Length > 100))
        {
            Fail("hints are phrases of 1 to 100 characters without commas (Twilio joins them with commas).");
        }

        if (Hints.Count > 500)
        {
            Fail("hints: at most 500 phrases.");
        }

        Fallback?.Validate(Fail);
    }

    internal static void OneOf(string? value, string[] allowed, string name, Action<string> fail)
    {
        if (value is not null && !allowed.Contains(value, StringComparer.OrdinalIgnoreCase))
        {
            fail($"{name} is '{value}'; Twilio takes {string.Join(", ", allowed)}.");
        }
    }

    internal static void LanguageCode(string? value, string name, Action<string> fail)
    {
        if (value is not null && value != "multi" && !LanguageTag().IsMatch(value))
        {
            fail($"{name} '{value}' is not a language code such as en-US (or 'multi').");
        }
    }

    internal static void Token(string? value, string name, Action<string> fail)
    {
        if (value is not null && !TokenValue().IsMatch(value))
        {
            fail($"{name} '{value}' must be 1 to 128 characters without spaces or control characters.");
        }
    }

    private static void Words(string? value, string name, Action<string> fail)
    {
        if (value is not null && !WordsValue().IsMatch(value))
        {
            fail($"{name} '{value}' must be 1 to 256 characters of words separated by spaces.");
        }
    }

    [GeneratedRegex("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", RegexOptions.CultureInvariant)]
    private static partial Regex LanguageTag();

    [GeneratedRegex(@"^[^\s\p{C}]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex TokenValue();

    [GeneratedRegex(@"^[^\s\p{C}]+( [^\s\p{C}]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex WordsValue();
}

/// <summary>
/// The speech providers a failed session is reconnected with (<c>relay.fallback</c>): each set value replaces the use
/// case's on the new &lt;ConversationRelay&gt; (its &lt;Language&gt; entries are left out, so the fallback is used whatever
/// the language).
/// </summary>
public sealed record SpeechFallback
{
    public string? TranscriptionProvider { get; init; }

    public string? SpeechModel { get; init; }

    public string? TtsProvider { get; init; }

    public string? Voice { get; init; }

    internal void Validate(Action<string> fail)
    {
        if (TranscriptionProvider is null && TtsProvider is null && Voice is null && SpeechModel is null)
        {
            fail("fallback names no provider, voice or speech model.");
        }

        RelaySettings.OneOf(TtsProvider, RelaySettings.TtsProviders, "fallback.ttsProvider", fail);
        RelaySettings.OneOf(TranscriptionProvider, RelaySettings.TranscriptionProviders, "fallback.transcriptionProvider", fail);
        RelaySettings.Token(Voice, "fallback.voice", fail);
        RelaySettings.Token(SpeechModel, "fallback.speechModel", fail);
    }
}

/// <summary>Per-language voice and transcription settings (the TwiML <c>&lt;Language&gt;</c> element).</summary>
public sealed record LanguageOption(
    string Code,
    string? TtsProvider = null,
    string? Voice = null,
    string? TranscriptionProvider = null,
    string? SpeechModel = null)
{
    /// <summary>Throws a <see cref="DomainException"/> naming what Twilio would not accept.</summary>
    public void Validate(string useCaseId)
    {
        void Fail(string message) => throw new DomainException($"Use case '{useCaseId}': languages[{Code}].{message}");

        if (string.IsNullOrWhiteSpace(Code))
        {
            Fail("code is required.");
        }

        RelaySettings.LanguageCode(Code, "code", Fail);
        RelaySettings.OneOf(TtsProvider, RelaySettings.TtsProviders, "ttsProvider", Fail);
        RelaySettings.OneOf(TranscriptionProvider, RelaySettings.TranscriptionProviders, "transcriptionProvider", Fail);
        RelaySettings.Token(Voice, "voice", Fail);
        RelaySettings.Token(SpeechModel, "speechModel", Fail);
    }
}

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

    /// <summary>
    /// These settings for a model call off the conversation (a running summary, a post-call record): on
    /// <paramref name="profile"/> when given, no sampling cut-off, no stop sequences, no cache points, and the tool
    /// choice that call needs.
    /// </summary>
    public ModelSettings ForBackground(string? profile, int maxTokens, float temperature, string? toolChoice = null) => this with
    {
        InferenceProfiles = profile is { } only ? [only] : InferenceProfiles,
        MaxTokens = maxTokens,
        Temperature = temperature,
        TopP = null,
        ToolChoice = toolChoice,
        StopSequences = [],
        PromptCaching = false,
    };
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

/// <summary>
/// What the post-call job writes for a finished call of this use case: a short model summary (on by default) and,
/// with <see cref="ExtractionSchemaJson"/>, the fields that JSON schema names, filled by the model through a tool call
/// so the result is JSON of that shape. <see cref="Profile"/>: the inference profile that does it (a cheaper one);
/// by default the use case's own.
/// </summary>
public sealed record PostCallSettings
{
    public bool Summary { get; init; } = true;

    public string? ExtractionSchemaJson { get; init; }

    public string? Profile { get; init; }

    public void Validate(string useCaseId)
    {
        if (ExtractionSchemaJson is null)
        {
            return;
        }

        try
        {
            using var schema = System.Text.Json.JsonDocument.Parse(ExtractionSchemaJson);
            if (schema.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object
                || !schema.RootElement.TryGetProperty("type", out var type) || type.GetString() != "object")
            {
                throw new DomainException($"Use case '{useCaseId}': postCall.extractionSchema must be a JSON schema of \"type\": \"object\".");
            }
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new DomainException($"Use case '{useCaseId}': postCall.extractionSchema is not JSON ({ex.Message}).");
        }
    }
}
