using System.Xml.Linq;
using VoiceAgent.Application.Calls.EndSession;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Api.Twilio;

/// <summary>TwiML documents, built with System.Xml.Linq so every value is escaped. Attribute names are Twilio's.</summary>
public static class Twiml
{
    public const string ContentType = "application/xml";

    /// <summary>
    /// <c>&lt;Response&gt;&lt;Connect action&gt;&lt;ConversationRelay …&gt;</c> with the use case's voice settings,
    /// its languages and the custom parameters the relay returns in its setup message. With
    /// <paramref name="language"/> (a reconnected call that had switched language) speech and transcription start in
    /// that language, with its &lt;Language&gt; voice, instead of the use case's. With <paramref name="speechFallback"/>
    /// (a session failed because of a speech provider) the use case's <c>relay.fallback</c> providers and voice replace
    /// its own, and the &lt;Language&gt; entries, which name the failed ones, are left out. With <paramref name="consent"/>
    /// (a call's first session) the use case's consent line opens the greeting, which is then not interruptible.
    /// </summary>
    public static string ConversationRelay(
        UseCase useCase,
        string relayUrl,
        string actionUrl,
        IReadOnlyDictionary<string, string> parameters,
        string? greeting = null,
        string? language = null,
        bool speechFallback = false,
        bool consent = false)
    {
        ArgumentNullException.ThrowIfNull(useCase);
        ArgumentNullException.ThrowIfNull(parameters);
        var relay = useCase.Relay;
        var fallback = speechFallback ? relay.Fallback : null;
        var element = new XElement("ConversationRelay", new XAttribute("url", relayUrl));
        var welcome = greeting ?? useCase.Greeting;
        var withConsent = consent && useCase.ConsentLine is not null;
        Add(element, "welcomeGreeting", withConsent ? (welcome is null ? useCase.ConsentLine : useCase.ConsentLine + " " + welcome) : welcome);
        Add(element, "welcomeGreetingInterruptible", withConsent ? "none" : relay.WelcomeGreetingInterruptible);
        Add(element, "ttsProvider", fallback?.TtsProvider ?? relay.TtsProvider);
        Add(element, "voice", fallback is null ? relay.Voice : fallback.Voice ?? (fallback.TtsProvider is null ? relay.Voice : null));
        Add(element, "transcriptionProvider", fallback?.TranscriptionProvider ?? relay.TranscriptionProvider);
        Add(element, "speechModel", fallback is null ? relay.SpeechModel : fallback.SpeechModel ?? (fallback.TranscriptionProvider is null ? relay.SpeechModel : null));
        Add(element, "language", language ?? relay.Language);
        Add(element, "ttsLanguage", language is null ? relay.TtsLanguage : null);
        Add(element, "transcriptionLanguage", language is null ? relay.TranscriptionLanguage : null);
        Add(element, "interruptible", relay.Interruptible);
        Add(element, "interruptSensitivity", relay.InterruptSensitivity);
        Add(element, "reportInputDuringAgentSpeech", relay.ReportInputDuringAgentSpeech);
        Add(element, "dtmfDetection", relay.DtmfDetection);
        Add(element, "preemptible", relay.Preemptible);
        Add(element, "partialPrompts", relay.PartialPrompts);
        Add(element, "profanityFilter", relay.ProfanityFilter);
        Add(element, "hints", relay.Hints.Count == 0 ? null : string.Join(',', relay.Hints));
        Add(element, "debug", relay.Debug);
        Add(element, "elevenlabsTextNormalization", relay.ElevenlabsTextNormalization);
        Add(element, "intelligenceService", relay.IntelligenceService);
        Add(element, "speechTimeout", relay.SpeechTimeout);
        Add(element, "backgroundNoiseReduction", relay.BackgroundNoiseReduction);
        Add(element, "deepgramSmartFormat", relay.DeepgramSmartFormat);
        Add(element, "ignoreBackchannel", relay.IgnoreBackchannel);
        Add(element, "events", relay.Events);
        Add(element, "turnDetection", relay.TurnDetection);

        foreach (var option in fallback is null ? useCase.Languages : [])
        {
            var child = new XElement("Language", new XAttribute("code", option.Code));
            Add(child, "ttsProvider", option.TtsProvider);
            Add(child, "voice", option.Voice);
            Add(child, "transcriptionProvider", option.TranscriptionProvider);
            Add(child, "speechModel", option.SpeechModel);
            element.Add(child);
        }

        foreach (var (name, value) in parameters)
        {
            element.Add(new XElement("Parameter", new XAttribute("name", name), new XAttribute("value", value)));
        }

        return Document(new XElement("Connect", new XAttribute("action", actionUrl), element));
    }

    /// <summary>What the call does after the relay session: hang up (optionally saying something) or hand off.</summary>
    public static string SessionEnd(SessionEndDecision decision) => decision switch
    {
        HandOff { Settings: var handoff } => Document(
            Say(handoff.Announcement),
            handoff.Mode == HandoffMode.Dial ? new XElement("Dial", handoff.Target) : new XElement("Enqueue", handoff.Target)),
        HangUp hangUp => Document(Say(hangUp.Announcement), new XElement("Hangup")),
        Reconnect => throw new ArgumentException("A reconnect is answered with ConversationRelay TwiML.", nameof(decision)),
        _ => throw new ArgumentOutOfRangeException(nameof(decision), decision, "Unknown session end decision."),
    };

    /// <summary>An outbound call reached a machine: leave <paramref name="message"/> (if any) and hang up.</summary>
    public static string Voicemail(string? message) => Document(Say(message), new XElement("Hangup"));

    /// <summary>Said when the call cannot be answered at all (the webhook failed).</summary>
    public static string Unavailable(string message) => Document(Say(message), new XElement("Hangup"));

    private static XElement? Say(string? text) => string.IsNullOrWhiteSpace(text) ? null : new XElement("Say", text);

    private static string Document(params XElement?[] verbs) =>
        Declaration + new XElement("Response", verbs).ToString(SaveOptions.DisableFormatting);

    private const string Declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

    private static void Add(XElement element, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            element.Add(new XAttribute(name, value));
        }
    }

    private static void Add(XElement element, string name, bool? value)
    {
        if (value is { } flag)
        {
            element.Add(new XAttribute(name, flag ? "true" : "false"));
        }
    }
}
