using System.Xml.Linq;
using VoiceAgent.Domain.UseCases;
using VoiceAgent.Infrastructure.Persistence.Embedded;
using VoiceAgent.Infrastructure.Seeding;

namespace VoiceAgent.Integration.Tests;

/// <summary>One deployment, several businesses: the number dialled picks the use case, then the caller's profile, then the default.</summary>
public sealed class RoutingTests
{
    private static readonly UseCase Dentist = new(
        "dentist",
        "Bright Smile dental",
        "You book dental appointments.",
        new RelaySettings(),
        new ModelSettings(),
        greeting: "Bright Smile dental, how can I help?",
        phoneNumbers: ["+15550008888"]);

    [Theory]
    [InlineData("+15550008888", "+15550001234", "dentist")] // Ana's profile says pizza, but she dialled the dentist
    [InlineData("+15550009999", "+15550007777", "pizza")] // the pizza line, an unknown caller
    [InlineData("+15550000000", "+15550001234", "pizza")] // a number no use case lists: Ana's profile
    [InlineData("+15550000000", "+15550007777", "pizza")] // neither: the default
    public async Task The_dialled_number_picks_the_use_case_then_the_profile_then_the_default(string to, string from, string expected)
    {
        await using var factory = new VoiceAgentFactory();
        factory.Get<EmbeddedUseCaseRepository>().Put(Dentist);

        var response = await factory.PostSignedAsync("/twiml", new Dictionary<string, string>
        {
            ["CallSid"] = "CA" + Guid.NewGuid().ToString("N"),
            ["From"] = from,
            ["To"] = to,
        });

        var relay = XDocument.Parse(await response.Content.ReadAsStringAsync()).Root!.Element("Connect")!.Element("ConversationRelay")!;
        var parameters = relay.Elements("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        Assert.Equal(expected, parameters["useCaseId"]);
        if (expected == "dentist")
        {
            Assert.Equal("Bright Smile dental, how can I help?", relay.Attribute("welcomeGreeting")!.Value);
        }
    }

    [Fact]
    public async Task The_session_of_a_routed_call_talks_as_its_use_case()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Get<EmbeddedUseCaseRepository>().Put(Dentist);
        factory.Model.ThenSays("Tuesday at ten is free.");

        await using var twilio = await factory.ConnectRelayAsync(to: "+15550008888");
        await twilio.SetupAsync();
        await twilio.PromptAsync("Can I book a cleaning?");
        Assert.Equal("Tuesday at ten is free.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        Assert.Equal("You book dental appointments.", Assert.Single(factory.Model.Requests).SystemPrompt);
    }

    [Fact]
    public async Task A_use_case_with_no_code_of_its_own_answers_its_number_and_ends_the_call_when_the_caller_is_done()
    {
        // seed/usecases/einstein.json: a knowledge line, a JSON file and nothing else.
        await using var factory = new VoiceAgentFactory();
        factory.Model
            .ThenSays("He published special relativity in 1905.")
            .Then((_, ct) => VoiceAgent.Application.Tests.ScriptedModel.ToolUse("end_call", "{}", ct, new VoiceAgent.Application.Abstractions.TextDelta("Thanks for calling, goodbye!")));

        await using var twilio = await factory.ConnectRelayAsync(to: "+15550007000");
        await twilio.SetupAsync();
        await twilio.PromptAsync("When did Einstein publish special relativity?");
        Assert.Equal("He published special relativity in 1905.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        await twilio.PromptAsync("That's all, thanks.");
        var frames = await twilio.ReceiveUntilEndAsync();

        Assert.Equal("end", frames[^1].GetProperty("type").GetString());
        var request = factory.Model.Requests[0];
        Assert.Contains("Albert Einstein", request.SystemPrompt, StringComparison.Ordinal);
        Assert.Equal(["end_call"], request.Tools.Select(t => t.Name));
    }

    [Fact]
    public void A_use_case_document_that_leaves_settings_out_gets_the_defaults_not_zeros()
    {
        var useCase = SeedLoader.ParseUseCase(
            """{ "id": "minimal", "systemPrompt": "Help.", "relay": { "voice": "v" }, "model": { "temperature": 0.2 } }""", "test");

        var defaults = new ModelSettings();
        Assert.Equal((defaults.MaxToolRounds, defaults.MaxTokens, 0.2f), (useCase.Model.MaxToolRounds, useCase.Model.MaxTokens, useCase.Model.Temperature));
        Assert.Empty(useCase.Model.InferenceProfiles);
        Assert.Empty(useCase.Relay.Hints);
        Assert.Equal("v", useCase.Relay.Voice);
    }

    [Fact]
    public void A_use_case_reads_its_redaction_rules_and_record_retention_and_a_broken_pattern_is_refused_at_seed_time()
    {
        var useCase = SeedLoader.ParseUseCase(
            """{ "id": "ins", "systemPrompt": "Help.", "redact": [{ "name": "policy number", "pattern": "PN-\\d{6}" }], "recordRetentionDays": 30 }""", "test");

        Assert.Equal("Policy [policy number]", useCase.Redactor.Redact("Policy PN-123456"));
        Assert.Equal(new DateTimeOffset(2026, 12, 31, 0, 0, 0, TimeSpan.Zero), useCase.RecordExpiry(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)));

        var error = Assert.Throws<SeedDataException>(() => SeedLoader.ParseUseCase(
            """{ "id": "ins", "systemPrompt": "Help.", "redact": [{ "name": "policy", "pattern": "PN-(\\d" }] }""", "usecases/ins.json"));
        Assert.Contains("usecases/ins.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("policy", error.Message, StringComparison.Ordinal);
        Assert.Throws<SeedDataException>(() => SeedLoader.ParseUseCase(
            """{ "id": "ins", "systemPrompt": "Help.", "recordRetentionDays": 0 }""", "test"));
    }

    [Fact]
    public void Two_seed_use_cases_cannot_answer_the_same_number()
    {
        var seed = Path.Combine(Path.GetTempPath(), "voiceagent-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(seed, "usecases"));
        try
        {
            foreach (var id in new[] { "a", "b" })
            {
                File.WriteAllText(
                    Path.Combine(seed, "usecases", id + ".json"),
                    $$"""{ "id": "{{id}}", "systemPrompt": "Help.", "phoneNumbers": ["+15550003333"] }""");
            }

            var error = Assert.Throws<SeedDataException>(() => SeedLoader.LoadUseCases(seed));
            Assert.Contains("a, b", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("+15550003333", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(seed, recursive: true);
        }
    }
}
