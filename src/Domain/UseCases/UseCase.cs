using System.Text.RegularExpressions;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Domain.UseCases;

/// <summary>
/// What an agent is for: its instructions, its voice, the tools it may use and how it hands off.
/// Immutable; built once from configuration or the store and shared by every call that uses it.
/// </summary>
public sealed partial class UseCase
{
    public UseCase(
        string id,
        string name,
        string systemPrompt,
        RelaySettings relay,
        ModelSettings model,
        string? greeting = null,
        IReadOnlyList<LanguageOption>? languages = null,
        IReadOnlyList<string>? toolNames = null,
        IReadOnlyDictionary<string, DtmfAction>? dtmfMap = null,
        HandoffSettings? handoff = null,
        string? apologyLine = null,
        IReadOnlyList<string>? fillerLines = null,
        SilenceSettings? silence = null,
        string? guardrailLine = null,
        IReadOnlyList<string>? phoneNumbers = null,
        IReadOnlyList<RedactionRule>? redact = null,
        int? recordRetentionDays = null,
        PostCallSettings? postCall = null,
        string? consentLine = null)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new DomainException("A use case needs an id.");
        }

        if (string.IsNullOrWhiteSpace(systemPrompt))
        {
            throw new DomainException($"Use case '{id}' needs a system prompt.");
        }

        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(model);

        ToolNames = toolNames ?? [];
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tool in ToolNames)
        {
            if (!ToolSpec.IsValidName(tool))
            {
                throw new DomainException($"Use case '{id}': '{tool}' is not a valid tool name.");
            }

            if (!names.Add(tool))
            {
                throw new DomainException($"Use case '{id}' lists tool '{tool}' twice.");
            }
        }

        DtmfMap = dtmfMap ?? new Dictionary<string, DtmfAction>();
        foreach (var (digit, action) in DtmfMap)
        {
            if (digit.Length is < 1 or > 16 || digit.Any(d => "0123456789*#ABCDabcd".IndexOf(d, StringComparison.Ordinal) < 0))
            {
                throw new DomainException($"Use case '{id}': '{digit}' is not a sequence of 1 to 16 DTMF digits.");
            }

            if (action is DtmfInvokeTool invoke && !names.Contains(invoke.ToolName))
            {
                throw new DomainException($"Use case '{id}': key '{digit}' invokes '{invoke.ToolName}', which the use case does not list in its tools.");
            }

            if (action is null)
            {
                throw new DomainException($"Use case '{id}': digit '{digit}' has no action.");
            }
        }

        PhoneNumbers = phoneNumbers ?? [];
        var numbers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var number in PhoneNumbers)
        {
            if (!Common.PhoneNumbers.IsE164(number))
            {
                throw new DomainException($"Use case '{id}': phone number '{Common.PhoneNumbers.Mask(number)}' is not E.164 (+ and 2 to 15 digits).");
            }

            if (!numbers.Add(number))
            {
                throw new DomainException($"Use case '{id}' lists phone number '{Common.PhoneNumbers.Mask(number)}' twice.");
            }
        }

        Redact = redact ?? [];
        if (Redact.Select(r => r.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != Redact.Count)
        {
            throw new DomainException($"Use case '{id}' names a redaction rule twice.");
        }

        Redactor = new PiiRedactor(Redact);
        if (recordRetentionDays is < 1 or > 3650)
        {
            throw new DomainException($"Use case '{id}': recordRetentionDays is between 1 and 3650 (or absent: kept).");
        }

        RecordRetentionDays = recordRetentionDays;
        PostCall = postCall ?? new PostCallSettings();
        ConsentLine = string.IsNullOrWhiteSpace(consentLine) ? null : consentLine;
        PostCall.Validate(id);
        relay.Validate(id);
        Languages = languages ?? [];
        foreach (var language in Languages)
        {
            language.Validate(id);
        }

        if (Languages.Select(l => l.Code).Distinct(StringComparer.OrdinalIgnoreCase).Count() != Languages.Count)
        {
            throw new DomainException($"Use case '{id}' lists a language twice.");
        }

        Id = id;
        Name = string.IsNullOrWhiteSpace(name) ? id : name;
        SystemPrompt = systemPrompt;
        Relay = relay;
        if (model.StopSequences.Count > ModelSettings.MaxStopSequences || model.StopSequences.Any(string.IsNullOrEmpty))
        {
            throw new DomainException($"Use case '{id}': model.stopSequences takes at most {ModelSettings.MaxStopSequences} non-empty sequences.");
        }

        if (model.ContextBudgetChars != 0 && model.ContextBudgetChars < ModelSettings.MinContextBudgetChars)
        {
            throw new DomainException($"Use case '{id}': model.contextBudgetChars is 0 (never fold) or at least {ModelSettings.MinContextBudgetChars}.");
        }

        Model = model;
        Greeting = greeting;
        Handoff = handoff;
        if (silence is not null && (silence.Timeout < TimeSpan.FromSeconds(1) || string.IsNullOrWhiteSpace(silence.RepromptLine) || string.IsNullOrWhiteSpace(silence.GoodbyeLine)))
        {
            throw new DomainException($"Use case '{id}': silence needs a timeout of at least 1 s, a reprompt line and a goodbye line.");
        }

        Silence = silence;
        FillerLines = fillerLines is { Count: > 0 } && fillerLines.All(l => !string.IsNullOrWhiteSpace(l))
            ? fillerLines
            : ["One moment.", "Let me check that for you.", "Just a second."];
        GuardrailLine = string.IsNullOrWhiteSpace(guardrailLine)
            ? "Sorry, I can't help with that. Is there anything else I can do for you?"
            : guardrailLine;
        ApologyLine = string.IsNullOrWhiteSpace(apologyLine)
            ? "Sorry, I'm having trouble answering right now. Could you say that again in a moment?"
            : apologyLine;
    }

    public string Id { get; }

    public string Name { get; }

    /// <summary>Instructions for the model; <c>{{name}}</c> placeholders are filled per call.</summary>
    public string SystemPrompt { get; }

    /// <summary>Spoken by Twilio as soon as the relay connects (welcomeGreeting).</summary>
    public string? Greeting { get; }

    public RelaySettings Relay { get; }

    /// <summary>The numbers (E.164) this use case answers: a call to one of them gets it, whoever calls.</summary>
    public IReadOnlyList<string> PhoneNumbers { get; }

    public ModelSettings Model { get; }

    public IReadOnlyList<LanguageOption> Languages { get; }

    /// <summary>The tools this agent may use, by name; their specs come from the registered tool handlers.</summary>
    public IReadOnlyList<string> ToolNames { get; }

    /// <summary>Keys pressed → what happens. Keys are sequences of DTMF digits ("0", "12", "#").</summary>
    public IReadOnlyDictionary<string, DtmfAction> DtmfMap { get; }

    public HandoffSettings? Handoff { get; }

    /// <summary>What happens when the caller says nothing; null leaves silence alone.</summary>
    public SilenceSettings? Silence { get; }

    /// <summary>Said (one, varied) while slow tools run.</summary>
    public IReadOnlyList<string> FillerLines { get; }

    /// <summary>Spoken when a content guardrail stops the model's answer.</summary>
    public string GuardrailLine { get; }

    /// <summary>Spoken when the model cannot answer, so the caller is never left in silence.</summary>
    public string ApologyLine { get; }

    /// <summary>The use case's own patterns to redact, besides card and social security numbers.</summary>
    public IReadOnlyList<RedactionRule> Redact { get; }

    /// <summary>Redacts what callers say on this use case's calls (the built-in patterns and <see cref="Redact"/>).</summary>
    public PiiRedactor Redactor { get; }

    /// <summary>
    /// Days the business records a call creates (orders, bookings) are kept before the store expires them; null
    /// keeps them.
    /// </summary>
    public int? RecordRetentionDays { get; }

    /// <summary>
    /// Said at the start of every call, before the greeting, and not interruptible (a recording or AI disclosure the
    /// caller must hear in full).
    /// </summary>
    public string? ConsentLine { get; }

    /// <summary>What the post-call job writes for this use case's finished calls.</summary>
    public PostCallSettings PostCall { get; }

    /// <summary>When a business record created at <paramref name="createdAt"/> expires, or null when it is kept.</summary>
    public DateTimeOffset? RecordExpiry(DateTimeOffset createdAt) =>
        RecordRetentionDays is { } days ? createdAt.AddDays(days) : null;

    public bool AllowsTool(string name) => ToolNames.Contains(name, StringComparer.Ordinal);

    /// <summary>The offered language with this BCP-47 code (compared without case), or null.</summary>
    public LanguageOption? FindLanguage(string? code) =>
        code is null ? null : Languages.FirstOrDefault(l => string.Equals(l.Code, code, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Fills <c>{{name}}</c> placeholders from <paramref name="values"/>. A placeholder without a value becomes
    /// empty so the model never sees template syntax.
    /// </summary>
    public string RenderSystemPrompt(IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Placeholder().Replace(SystemPrompt, match =>
            values.TryGetValue(match.Groups[1].Value, out var value) ? value : string.Empty);
    }

    /// <summary>
    /// Renders the prompt in two parts whose concatenation is <see cref="RenderSystemPrompt(IReadOnlyDictionary{string, string})"/>:
    /// the text before the first placeholder that <paramref name="perCall"/> names (the same for every call of the
    /// use case, so a model can cache it), and the rest. Prompts put their per-call placeholders (caller, date) last.
    /// </summary>
    public SystemPromptParts RenderSystemPrompt(IReadOnlyDictionary<string, string> values, Func<string, bool> perCall)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(perCall);
        var split = Placeholder().Matches(SystemPrompt).FirstOrDefault(m => perCall(m.Groups[1].Value))?.Index ?? SystemPrompt.Length;
        string Render(string template) => Placeholder().Replace(template, match =>
            values.TryGetValue(match.Groups[1].Value, out var value) ? value : string.Empty);
        return new SystemPromptParts(Render(SystemPrompt[..split]), Render(SystemPrompt[split..]));
    }

    /// <summary>The placeholder names the system prompt uses, in order of first use.</summary>
    public IReadOnlyList<string> PlaceholderNames =>
        Placeholder().Matches(SystemPrompt).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
