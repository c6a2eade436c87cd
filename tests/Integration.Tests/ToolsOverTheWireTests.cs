using System.Text.Json;
using System.Xml.Linq;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Tests;
using VoiceAgent.Domain.Orders;

namespace VoiceAgent.Integration.Tests;

/// <summary>The pizza tools and the handoff over a real relay WebSocket, against the seeded use case.</summary>
public sealed class ToolsOverTheWireTests
{
    [Fact]
    public async Task An_order_is_placed_and_stored_then_the_caller_is_handed_to_a_person()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model
            .Then((_, ct) => ScriptedModel.ToolUse("place_order", """{"fulfilment":"pickup","items":[{"item":"calzone","quantity":2}],"customer_name":"Ana"}""", ct))
            .Then((request, _) => Say($"Order placed, total {Total(request)}."))
            .Then((_, ct) => ScriptedModel.ToolUse("live_agent_handoff", """{"reason_code":"complaint","summary":"Ana wants to talk about a past order."}""", ct));
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();

        await twilio.PromptAsync("Two calzones for pickup, name Ana. Yes, place it.");
        Assert.Equal("Order placed, total 27.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        var order = Assert.Single(await factory.Get<IOrderRepository>().GetForCallAsync(RelayClient.CallSid, default));
        Assert.Equal((Fulfilment.Pickup, 27.00m, "Ana"), (order.Fulfilment, order.Total, order.CustomerName));

        await twilio.PromptAsync("Actually, can I talk to someone about last week?");
        var end = await twilio.ReceiveAsync();
        Assert.Equal("end", end!.Value.GetProperty("type").GetString());
        var handoffData = end.Value.GetProperty("handoffData").GetString()!;
        using (var data = JsonDocument.Parse(handoffData))
        {
            Assert.Equal("complaint", data.RootElement.GetProperty("reason_code").GetString());
        }

        var action = await factory.PostSignedAsync("/action", new Dictionary<string, string>
        {
            ["CallSid"] = RelayClient.CallSid,
            ["SessionStatus"] = "ended",
            ["HandoffData"] = handoffData,
        });
        Assert.Equal("+15005550006", XDocument.Parse(await action.Content.ReadAsStringAsync()).Root!.Element("Dial")!.Value);
    }

    private static string Total(ModelRequest request)
    {
        var result = request.Messages[^1].ToolResults.Single();
        using var json = JsonDocument.Parse(result.Content);
        return json.RootElement.GetProperty("total").GetDecimal().ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static IAsyncEnumerable<ModelStreamEvent> Say(string text) =>
        ScriptedModel.Events(ModelStopReason.EndTurn, CancellationToken.None, new TextDelta(text));
}
