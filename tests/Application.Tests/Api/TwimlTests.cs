using System.Xml.Linq;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls.EndSession;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests.Api;

public sealed class TwimlTests
{
    [Fact]
    public void ConversationRelay_matches_the_official_helpers_output_as_xml()
    {
        var useCase = new UseCase(
            "pizza",
            "Pizza",
            "prompt",
            new RelaySettings
            {
                WelcomeGreetingInterruptible = "any",
                TtsProvider = "Google",
                Voice = "en-US-Journey-O",
                TranscriptionProvider = "Deepgram",
                SpeechModel = "nova-3-general",
                Language = "en-US",
                Interruptible = "any",
                ReportInputDuringAgentSpeech = "speech",
                DtmfDetection = true,
                Preemptible = false,
                Hints = ["pepperoni", "calzone"],
            },
            new ModelSettings(),
            greeting: "Thanks for calling \"Dough & Co\" <pizza>!",
            languages: [new LanguageOption("es-ES", "Google", "es-ES-Neural2-B", "Deepgram")]);

        var xml = Twiml.ConversationRelay(
            useCase,
            "wss://voice.example.com/ws",
            "https://voice.example.com/action",
            new Dictionary<string, string> { ["callerName"] = "Ana & \"Bo\"" });

        var expected = XDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "twiml-conversationrelay.xml")));
        AssertSameXml(expected.Root!, XDocument.Parse(xml).Root!);
        Assert.Contains("&amp;", xml, StringComparison.Ordinal);
        Assert.Contains("&lt;pizza", xml, StringComparison.Ordinal);
        Assert.DoesNotContain("<pizza>", xml, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reconnect_in_another_language_starts_speech_and_transcription_in_it()
    {
        var useCase = new UseCase(
            "pizza",
            "Pizza",
            "prompt",
            new RelaySettings { Language = "en-US", TtsLanguage = "en-US", TranscriptionLanguage = "en-US" },
            new ModelSettings(),
            languages: [new LanguageOption("es-US", "Google", "es-US-Journey-F")]);

        var relay = XDocument.Parse(Twiml.ConversationRelay(useCase, "wss://v/ws", "https://v/action", new Dictionary<string, string>(), language: "es-US"))
            .Root!.Element("Connect")!.Element("ConversationRelay")!;
        var usual = XDocument.Parse(Twiml.ConversationRelay(useCase, "wss://v/ws", "https://v/action", new Dictionary<string, string>()))
            .Root!.Element("Connect")!.Element("ConversationRelay")!;

        Assert.Equal("es-US", relay.Attribute("language")!.Value);
        Assert.Null(relay.Attribute("ttsLanguage"));
        Assert.Null(relay.Attribute("transcriptionLanguage"));
        Assert.Equal("es-US-Journey-F", relay.Element("Language")!.Attribute("voice")!.Value);
        Assert.Equal(("en-US", "en-US", "en-US"), (usual.Attribute("language")!.Value, usual.Attribute("ttsLanguage")!.Value, usual.Attribute("transcriptionLanguage")!.Value));
    }

    private static readonly string[] NewAttributes =
        ["interruptSensitivity", "profanityFilter", "speechTimeout", "backgroundNoiseReduction", "deepgramSmartFormat", "ignoreBackchannel", "events", "turnDetection"];

    [Fact]
    public void Every_relay_attribute_a_use_case_sets_is_written_with_twilios_name_and_the_speech_fallback_replaces_the_providers()
    {
        var useCase = new UseCase(
            "all",
            "All",
            "prompt",
            new RelaySettings
            {
                TtsProvider = "ElevenLabs",
                Voice = "UgBBYS2sOqTuMpoF3BR0",
                TranscriptionProvider = "Deepgram",
                SpeechModel = "nova-3-general",
                InterruptSensitivity = "low",
                ProfanityFilter = false,
                SpeechTimeout = "auto",
                BackgroundNoiseReduction = "on",
                DeepgramSmartFormat = true,
                IgnoreBackchannel = true,
                Events = "speaker-events",
                TurnDetection = "auto",
                Fallback = new SpeechFallback { TtsProvider = "Google", TranscriptionProvider = "Google" },
            },
            new ModelSettings(),
            languages: [new LanguageOption("es-US", "ElevenLabs", "v2")]);

        var relay = XDocument.Parse(Twiml.ConversationRelay(useCase, "wss://v/ws", "https://v/action", new Dictionary<string, string>()))
            .Root!.Element("Connect")!.Element("ConversationRelay")!;
        var fallback = XDocument.Parse(Twiml.ConversationRelay(useCase, "wss://v/ws", "https://v/action", new Dictionary<string, string>(), speechFallback: true))
            .Root!.Element("Connect")!.Element("ConversationRelay")!;

        Assert.Equal(
            [("interruptSensitivity", "low"), ("profanityFilter", "false"), ("speechTimeout", "auto"), ("backgroundNoiseReduction", "on"),
             ("deepgramSmartFormat", "true"), ("ignoreBackchannel", "true"), ("events", "speaker-events"), ("turnDetection", "auto")],
            NewAttributes.Select(name => (name, relay.Attribute(name)?.Value)));
        Assert.Single(relay.Elements("Language"));

        // The fallback's providers; the failed provider's voice and model are not carried over to a provider they do not belong to.
        Assert.Equal(("Google", "Google"), (fallback.Attribute("ttsProvider")!.Value, fallback.Attribute("transcriptionProvider")!.Value));
        Assert.Null(fallback.Attribute("voice"));
        Assert.Null(fallback.Attribute("speechModel"));
        Assert.Empty(fallback.Elements("Language"));
        Assert.Equal("low", fallback.Attribute("interruptSensitivity")!.Value);
    }

    [Fact]
    public void A_consent_line_opens_the_first_sessions_greeting_and_cannot_be_interrupted()
    {
        var useCase = new UseCase(
            "u", "U", "p", new RelaySettings { WelcomeGreetingInterruptible = "any" }, new ModelSettings(),
            greeting: "Hi, how can I help?", consentLine: "This call is recorded and answered by an AI assistant.");

        var first = XDocument.Parse(Twiml.ConversationRelay(useCase, "wss://v/ws", "https://v/action", new Dictionary<string, string>(), consent: true))
            .Root!.Element("Connect")!.Element("ConversationRelay")!;
        var resumed = XDocument.Parse(Twiml.ConversationRelay(useCase, "wss://v/ws", "https://v/action", new Dictionary<string, string>(), greeting: "I'm back."))
            .Root!.Element("Connect")!.Element("ConversationRelay")!;

        Assert.Equal(("This call is recorded and answered by an AI assistant. Hi, how can I help?", "none"), (first.Attribute("welcomeGreeting")!.Value, first.Attribute("welcomeGreetingInterruptible")!.Value));
        Assert.Equal(("I'm back.", "any"), (resumed.Attribute("welcomeGreeting")!.Value, resumed.Attribute("welcomeGreetingInterruptible")!.Value));
    }

    [Fact]
    public void Session_end_hangs_up_or_hands_off()
    {
        var hangUp = XDocument.Parse(Twiml.SessionEnd(new HangUp(null))).Root!;
        Assert.Equal(["Hangup"], hangUp.Elements().Select(e => e.Name.LocalName));

        var dial = XDocument.Parse(Twiml.SessionEnd(new HandOff(new HandoffSettings(HandoffMode.Dial, "+15005550006", "Connecting you & co.")))).Root!;
        Assert.Equal(["Say", "Dial"], dial.Elements().Select(e => e.Name.LocalName));
        Assert.Equal("Connecting you & co.", dial.Element("Say")!.Value);
        Assert.Equal("+15005550006", dial.Element("Dial")!.Value);

        var enqueue = XDocument.Parse(Twiml.SessionEnd(new HandOff(new HandoffSettings(HandoffMode.Enqueue, "support")))).Root!;
        Assert.Equal("support", Assert.Single(enqueue.Elements("Enqueue")).Value);
    }

    private static void AssertSameXml(XElement expected, XElement actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(
            expected.Attributes().Select(a => (a.Name.LocalName, a.Value)).OrderBy(a => a.LocalName, StringComparer.Ordinal),
            actual.Attributes().Select(a => (a.Name.LocalName, a.Value)).OrderBy(a => a.LocalName, StringComparer.Ordinal));
        var expectedChildren = expected.Elements().ToList();
        var actualChildren = actual.Elements().ToList();
        Assert.Equal(expectedChildren.Count, actualChildren.Count);
        for (var i = 0; i < expectedChildren.Count; i++)
        {
            AssertSameXml(expectedChildren[i], actualChildren[i]);
        }

        if (expectedChildren.Count == 0)
        {
            Assert.Equal(expected.Value, actual.Value);
        }
    }
}
