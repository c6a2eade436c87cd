using System.Net;
using System.Xml.Linq;
using VoiceAgent.Api.Relay;

namespace VoiceAgent.Integration.Tests;

/// <summary>SIGTERM with live calls: not ready, new calls refused, live calls go on, then are handed over.</summary>
public sealed class DrainTests
{
    [Fact]
    public async Task Draining_refuses_new_calls_lets_live_ones_talk_then_hands_them_over_for_a_reconnect()
    {
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?>
        {
            ["Relay:DrainTimeout"] = "00:00:01.500",
            ["Relay:CloseTimeout"] = "00:00:01",
        });
        factory.Model.ThenSays("Hello!").ThenSays("Still here.");
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();
        await twilio.PromptAsync("Hi");
        Assert.Equal("Hello!", RelayClient.Text(await twilio.ReceiveAnswerAsync()));

        factory.Get<RelayDrain>().Begin();

        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var newCall = await factory.PostSignedAsync("/twiml", new Dictionary<string, string> { ["CallSid"] = "CA99999999999999999999999999999999", ["From"] = "+15550001234", ["To"] = "+15550009999" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, newCall.StatusCode);
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => factory.ConnectRelayAsync());
        Assert.Contains("503", refused.Message, StringComparison.Ordinal);

        // The live call still talks during the drain window.
        await twilio.PromptAsync("Are you there?");
        Assert.Equal("Still here.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));

        // Then it is handed over: a short line and an end with server-draining handoff data.
        var line = await twilio.ReceiveAsync();
        Assert.Equal("One moment please, I'm moving your call.", line!.Value.GetProperty("token").GetString());
        var end = await twilio.ReceiveAsync();
        Assert.Equal("end", end!.Value.GetProperty("type").GetString());
        var handoffData = end.Value.GetProperty("handoffData").GetString()!;
        Assert.Contains("server-draining", handoffData, StringComparison.Ordinal);

        // The session-end callback reconnects the caller (on whichever instance serves it) instead of hanging up.
        var relay = await SessionEndedAsync(factory, handoffData);
        Assert.StartsWith("wss://voice.example.com/ws?ticket=", relay.Attribute("url")!.Value, StringComparison.Ordinal);
        Assert.Equal("Thanks for holding, I'm back with you.", relay.Attribute("welcomeGreeting")!.Value);
        Assert.Equal("en-US", relay.Attribute("language")!.Value);
        Assert.DoesNotContain(relay.Elements("Parameter"), p => p.Attribute("name")!.Value == "language");
    }

    [Fact]
    public async Task A_call_that_switched_language_is_handed_over_in_that_language()
    {
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?>
        {
            ["Relay:DrainTimeout"] = "00:00:00.500",
            ["Relay:CloseTimeout"] = "00:00:01",
        });
        factory.Model
            .Then((_, ct) => VoiceAgent.Application.Tests.ScriptedModel.ToolUse("switch_language", """{"language":"es-US"}""", ct))
            .ThenSays("¡Claro!");
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();
        await twilio.PromptAsync("¿Español?");
        var answer = await twilio.ReceiveAnswerAsync();
        Assert.Contains(answer, f => f.GetProperty("type").GetString() == "language");
        Assert.Equal("¡Claro!", RelayClient.Text(answer));

        factory.Get<RelayDrain>().Begin();
        await twilio.ReceiveAsync();
        var end = await twilio.ReceiveAsync();
        var handoffData = end!.Value.GetProperty("handoffData").GetString()!;

        var relay = await SessionEndedAsync(factory, handoffData);
        Assert.Equal("es-US", relay.Attribute("language")!.Value);
        var parameters = relay.Elements("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        Assert.Equal("es-US", parameters["language"]);
        Assert.Equal("pizza", parameters["useCaseId"]);
    }

    /// <summary>Twilio's session-end callback for the drained session: the ConversationRelay of the reconnect.</summary>
    private static async Task<XElement> SessionEndedAsync(VoiceAgentFactory factory, string handoffData)
    {
        var action = await factory.PostSignedAsync("/action", new Dictionary<string, string>
        {
            ["CallSid"] = RelayClient.CallSid,
            ["SessionStatus"] = "ended",
            ["HandoffData"] = handoffData,
        });
        return XDocument.Parse(await action.Content.ReadAsStringAsync()).Root!.Element("Connect")!.Element("ConversationRelay")!;
    }
}
