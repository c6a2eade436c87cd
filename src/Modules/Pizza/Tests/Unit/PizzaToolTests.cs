using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using VoiceAgent.Application.Modules;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Application.Tests;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Orders;

namespace VoiceAgent.Modules.Pizza.Tests;

/// <summary>The pizza module's tools through the application harness (a scripted model, faked ports).</summary>
public sealed class PizzaToolTests
{
    private static Harness PizzaHarness() => new(Harness.PizzaUseCase(["place_order"]), services => services.AddDomainModule<PizzaModule>());

    [Fact]
    public async Task The_input_schema_is_generated_from_the_argument_record()
    {
        await using var harness = PizzaHarness();
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
        await using var harness = PizzaHarness();
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
        await using var harness = PizzaHarness();
        harness.Model.Then((_, ct) => ScriptedModel.ToolUse("place_order", input, ct)).ThenSays("Let me check that with you.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Order", true, null));
        await call.IdleAsync();

        var result = Assert.Single(call.Conversation.Messages[2].ToolResults);
        Assert.Equal(ToolResultStatus.Error, result.Status);
        Assert.Contains(reason, result.Content, StringComparison.Ordinal);
        Assert.Empty(harness.Orders.Saved);
    }
}
