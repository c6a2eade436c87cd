using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Domain.Tests;

public sealed class UseCaseTests
{
    [Fact]
    public void System_prompt_placeholders_are_filled_and_unknown_ones_become_empty()
    {
        var useCase = Make("Hello {{caller.name}}, today is {{ today }}. {{missing}}End.");

        var rendered = useCase.RenderSystemPrompt(new Dictionary<string, string> { ["caller.name"] = "Ana", ["today"] = "Monday" });

        Assert.Equal("Hello Ana, today is Monday. End.", rendered);
        Assert.Equal(["caller.name", "today", "missing"], useCase.PlaceholderNames);
    }

    [Fact]
    public void The_prompt_splits_before_the_first_per_call_value_and_the_parts_make_the_whole()
    {
        var useCase = Make("Menu: {{menu}}. Caller: {{caller.name}}, {{menu}}, {{today}}.");
        var values = new Dictionary<string, string> { ["menu"] = "pizza", ["caller.name"] = "Ana", ["today"] = "Monday" };

        var parts = useCase.RenderSystemPrompt(values, name => name != "menu");

        Assert.Equal(("Menu: pizza. Caller: ", "Ana, pizza, Monday."), (parts.Static, parts.PerCall));
        Assert.Equal(useCase.RenderSystemPrompt(values), parts.Whole);
        Assert.Equal(("Menu: pizza. Caller: Ana, pizza, Monday.", ""), (useCase.RenderSystemPrompt(values, _ => false).Static, useCase.RenderSystemPrompt(values, _ => false).PerCall));
        Assert.Equal("Menu: ", useCase.RenderSystemPrompt(values, _ => true).Static);
    }

    public static TheoryData<RelaySettings> RelaySettingsTwilioRefuses =>
    [
        new RelaySettings { InterruptSensitivity = "loud" },
        new RelaySettings { Interruptible = "sometimes" },
        new RelaySettings { TtsProvider = "Acme" },
        new RelaySettings { TranscriptionProvider = "ElevenLabs" },
        new RelaySettings { ElevenlabsTextNormalization = "maybe" },
        new RelaySettings { Language = "english" },
        new RelaySettings { Voice = "two words" },
        new RelaySettings { Hints = ["pepperoni, extra"] },
        new RelaySettings { Fallback = new SpeechFallback() },
        new RelaySettings { Fallback = new SpeechFallback { TtsProvider = "Acme" } },
    ];

    [Theory]
    [MemberData(nameof(RelaySettingsTwilioRefuses))]
    public void Relay_attributes_twilio_would_refuse_stop_the_use_case_from_loading(RelaySettings relay)
    {
        var error = Assert.Throws<DomainException>(() => new UseCase("u", "U", "p", relay, new ModelSettings()));
        Assert.Contains("relay.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Documented_relay_values_load_in_any_case_and_languages_are_checked_too()
    {
        _ = new UseCase(
            "u",
            "U",
            "p",
            new RelaySettings { InterruptSensitivity = "High", Interruptible = "speech", TtsProvider = "amazon", TranscriptionProvider = "deepgram", Language = "multi", Fallback = new SpeechFallback { Voice = "en-US-Journey-O" } },
            new ModelSettings(),
            languages: [new LanguageOption("pt-BR", "Google")]);

        Assert.Throws<DomainException>(() => new UseCase("u", "U", "p", new RelaySettings(), new ModelSettings(), languages: [new LanguageOption("pt-BR", "Acme")]));
        Assert.Throws<DomainException>(() => new UseCase("u", "U", "p", new RelaySettings(), new ModelSettings(), languages: [new LanguageOption("en-US"), new LanguageOption("en-us")]));
    }

    [Fact]
    public void Stop_sequences_are_at_most_four_and_none_empty()
    {
        UseCase With(params string[] sequences) => new("p", "P", "p", new RelaySettings(), new ModelSettings { StopSequences = sequences });
        Assert.Equal(["\nCaller:", "###"], With("\nCaller:", "###").Model.StopSequences);
        Assert.Throws<DomainException>(() => With("a", "b", "c", "d", "e"));
        Assert.Throws<DomainException>(() => With("a", ""));
    }

    [Fact]
    public void Tools_must_have_unique_valid_names()
    {
        Assert.Throws<DomainException>(() => Make("p", tools: ["place_order", "place_order"]));
        Assert.Throws<DomainException>(() => Make("p", tools: ["not valid"]));
        Assert.Throws<DomainException>(() => new ToolSpec("1bad", "d", "{}"));
        Assert.Throws<DomainException>(() => new ToolSpec("has space", "d", "{}"));
        Assert.Throws<DomainException>(() => new ToolSpec("ok", " ", "{}"));

        var useCase = Make("p", tools: ["place_order"]);
        Assert.True(useCase.AllowsTool("place_order"));
        Assert.False(useCase.AllowsTool("Place_Order"));
    }

    [Theory]
    [InlineData("12345678901234567")]
    [InlineData("x")]
    [InlineData("1 2")]
    [InlineData("")]
    public void Dtmf_keys_must_be_short_digit_sequences(string key)
    {
        Assert.Throws<DomainException>(() => Make("p", dtmf: new Dictionary<string, DtmfAction> { [key] = new DtmfReply("hi") }));
    }

    [Fact]
    public void A_dtmf_tool_action_must_name_a_listed_tool()
    {
        var map = new Dictionary<string, DtmfAction> { ["0"] = new DtmfInvokeTool("live_agent_handoff", "{}") };
        Assert.Throws<DomainException>(() => Make("p", dtmf: map));
        Assert.Equal("live_agent_handoff", ((DtmfInvokeTool)Make("p", tools: ["live_agent_handoff"], dtmf: map).DtmfMap["0"]).ToolName);
        Assert.NotNull(Make("p", dtmf: new Dictionary<string, DtmfAction> { ["12#"] = new DtmfReply("ok") }));
    }

    [Fact]
    public void A_use_case_needs_an_id_and_a_prompt_and_gets_a_default_apology()
    {
        Assert.Throws<DomainException>(() => new UseCase(" ", "n", "p", new RelaySettings(), new ModelSettings()));
        Assert.Throws<DomainException>(() => new UseCase("id", "n", " ", new RelaySettings(), new ModelSettings()));
        Assert.False(string.IsNullOrWhiteSpace(Make("p").ApologyLine));
    }

    private static UseCase Make(string prompt, IReadOnlyList<string>? tools = null, IReadOnlyDictionary<string, DtmfAction>? dtmf = null) =>
        new("pizza", "Pizza", prompt, new RelaySettings(), new ModelSettings(), toolNames: tools, dtmfMap: dtmf);

    [Fact]
    public void A_use_case_lists_the_numbers_it_answers_in_E164_and_once_each()
    {
        var useCase = new UseCase("dentist", "Dentist", "You book appointments.", new RelaySettings(), new ModelSettings(), phoneNumbers: ["+15550008888", "+442071234567"]);
        Assert.Equal(["+15550008888", "+442071234567"], useCase.PhoneNumbers);

        Assert.Throws<DomainException>(() => new UseCase("d", "D", "p", new RelaySettings(), new ModelSettings(), phoneNumbers: ["555-0100"]));
        Assert.Throws<DomainException>(() => new UseCase("d", "D", "p", new RelaySettings(), new ModelSettings(), phoneNumbers: ["+15550008888", "+15550008888"]));
        Assert.Empty(new UseCase("d", "D", "p", new RelaySettings(), new ModelSettings()).PhoneNumbers);
    }
}
