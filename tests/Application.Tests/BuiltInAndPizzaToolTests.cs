using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Modules.Pizza;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Orders;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

public sealed class BuiltInAndPizzaToolTests
{
    [Fact]
    public async Task The_input_schema_is_generated_from_the_argument_record()
    {
        await using var harness = new Harness();
        var spec = harness.Get<PlaceOrderTool>().Spec;

        using var schema = JsonDocument.Parse(spec.InputSchemaJson);
        var root = schema.RootElement;
        Assert.Equal("object", root.GetProperty("type").GetString());
        var properties = root.GetProperty("properties");
        Assert.Equal(["pickup", "delivery"], properties.GetProperty("fulfilment").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("pickup or delivery", properties.GetProperty("fulfilment").GetProperty("description").GetString());
        var required = root.GetProperty("required").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(["fulfilment", "items", "customer_name"], required);
        var item = properties.GetProperty("items").GetProperty("items");
        Assert.Equal(["item", "quantity"], item.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.True(item.GetProperty("properties").TryGetProperty("extras", out _));
    }

    [Fact]
    public async Task Placing_an_order_prices_it_from_the_menu_stores_it_and_tells_the_model()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["place_order"]));
        harness.Model
            .Then((_, ct) => ScriptedModel.ToolUse("place_order", """{"fulfilment":"delivery","items":[{"item":"Pepperoni","size":"large","quantity":2,"extras":["extra cheese"]},{"item":"garlic knots","quantity":1}],"customer_name":"Ana","delivery_address":"42 Elm Street"}""", ct))
            .ThenSays("Your order is placed.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Yes, place it", true, null));
        await call.IdleAsync();

        var order = Assert.Single(harness.Orders.Saved);
        Assert.Equal((Fulfilment.Delivery, "42 Elm Street", "Ana", 44.00m), (order.Fulfilment, order.DeliveryAddress, order.CustomerName, order.Total));
        Assert.Equal(call.CallSid, order.CallSid);
        var result = Assert.Single(call.Conversation.Messages[2].ToolResults);
        Assert.Equal(ToolResultStatus.Success, result.Status);
        using var json = JsonDocument.Parse(result.Content);
        Assert.Equal(order.OrderId, json.RootElement.GetProperty("order_id").GetString());
        Assert.Equal(44.00m, json.RootElement.GetProperty("total").GetDecimal());
        Assert.Equal(40, json.RootElement.GetProperty("ready_in_minutes").GetInt32());
    }

    [Theory]
    [InlineData("""{"fulfilment":"pickup","items":[{"item":"sushi","quantity":1}],"customer_name":"Bo"}""", "not on the menu")]
    [InlineData("""{"fulfilment":"pickup","items":[{"item":"margherita","quantity":1}],"customer_name":"Bo"}""", "small or large")]
    [InlineData("""{"fulfilment":"delivery","items":[{"item":"soda","quantity":2}],"customer_name":"Bo","delivery_address":"1 Main St"}""", "minimum order")]
    [InlineData("""{"fulfilment":"delivery","items":[{"item":"calzone","quantity":2}],"customer_name":"Bo"}""", "delivery address")]
    [InlineData("""{"fulfilment":"pickup","items":[{"item":"soda","quantity":1}]}""", "Invalid arguments")]
    [InlineData("""{"fulfilment":"teleport","items":[],"customer_name":"Bo"}""", "Invalid arguments")]
    public async Task Orders_that_cannot_be_placed_give_the_model_a_reason_and_store_nothing(string input, string reason)
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["place_order"]));
        harness.Model.Then((_, ct) => ScriptedModel.ToolUse("place_order", input, ct)).ThenSays("Let me check that with you.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Order", true, null));
        await call.IdleAsync();

        var result = Assert.Single(call.Conversation.Messages[2].ToolResults);
        Assert.Equal(ToolResultStatus.Error, result.Status);
        Assert.Contains(reason, result.Content, StringComparison.Ordinal);
        Assert.Empty(harness.Orders.Saved);
    }

    [Fact]
    public async Task End_call_sends_end_and_does_not_ask_the_model_again()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["end_call"]));
        harness.Model.Then((_, ct) => ScriptedModel.ToolUse("end_call", "{}", ct, new TextDelta("Goodbye!")));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "That's all, bye", true, null));
        await call.IdleAsync();

        Assert.Single(harness.Model.Requests);
        Assert.Equal(["Goodbye!"], harness.Output.Heard.Select(h => h.Token));
        var end = Assert.IsType<EndRelay>(harness.Output.Sent[^1].Message);
        Assert.Null(end.HandoffData);
        Assert.Empty(call.Conversation.PendingToolUses);
    }

    [Fact]
    public async Task Live_agent_handoff_ends_the_session_with_reason_code_and_summary()
    {
        var useCase = Harness.PizzaUseCase(["live_agent_handoff"], handoff: new HandoffSettings(HandoffMode.Enqueue, "support"));
        await using var harness = new Harness(useCase);
        harness.Model.Then((_, ct) => ScriptedModel.ToolUse("live_agent_handoff", """{"reason_code":"user_requested","summary":"Ana wants to change yesterday's order."}""", ct));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A person please", true, null));
        await call.IdleAsync();

        var end = Assert.IsType<EndRelay>(harness.Output.Sent[^1].Message);
        using var data = JsonDocument.Parse(end.HandoffData!);
        Assert.Equal("user-requested", data.RootElement.GetProperty("reason_code").GetString());
        Assert.Equal("Ana wants to change yesterday's order.", data.RootElement.GetProperty("summary").GetString());
    }

    [Fact]
    public async Task Without_handoff_settings_the_model_is_told_no_one_can_take_the_call()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["live_agent_handoff"]));
        harness.Model.Then((_, ct) => ScriptedModel.ToolUse("live_agent_handoff", """{"reason_code":"complaint","summary":"x"}""", ct)).ThenSays("I can take a message.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A person please", true, null));
        await call.IdleAsync();

        Assert.DoesNotContain(harness.Output.Sent, s => s.Message is EndRelay);
        Assert.Equal(ToolResultStatus.Error, Assert.Single(call.Conversation.Messages[2].ToolResults).Status);
    }

    [Fact]
    public async Task Switching_language_sends_the_language_message_for_an_offered_language_only()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["switch_language"]));
        harness.Model
            .Then((_, ct) => ScriptedModel.ToolUse("switch_language", """{"language":"es-us"}""", ct))
            .ThenSays("¡Claro!")
            .Then((_, ct) => ScriptedModel.ToolUse("switch_language", """{"language":"fr-FR"}""", ct))
            .ThenSays("Sorry, no French.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Español por favor", true, null));
        await call.IdleAsync();
        await harness.Sender.Send(new PromptReceived(call.CallSid, "Français?", true, null));
        await call.IdleAsync();

        var switched = Assert.Single(harness.Output.Sent.Select(s => s.Message).OfType<SwitchLanguage>());
        Assert.Equal(("es-US", "es-US"), (switched.TtsLanguage, switched.TranscriptionLanguage));
        Assert.Equal("es-US", call.Language);
        Assert.Contains("fr-FR", call.Conversation.Messages[^2].ToolResults.Single().Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_dtmf_sends_valid_tones_and_refuses_others()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["send_dtmf"]));
        harness.Model
            .Then((_, ct) => ScriptedModel.ToolUse("send_dtmf", """{"digits":"12w#"}""", ct))
            .Then((_, ct) => ScriptedModel.ToolUse("send_dtmf", """{"digits":"12; rm -rf"}""", ct))
            .ThenSays("Done.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Press one two", true, null));
        await call.IdleAsync();

        Assert.Equal("12w#", Assert.Single(harness.Output.Sent.Select(s => s.Message).OfType<SendDigits>()).Digits);
        Assert.Equal(ToolResultStatus.Error, call.Conversation.Messages[4].ToolResults.Single().Status);
    }
}
