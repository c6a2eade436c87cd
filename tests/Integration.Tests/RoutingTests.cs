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
