using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Modules;
using VoiceAgent.Application;
using VoiceAgent.Application.Tools;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Orders;

namespace VoiceAgent.Modules.Pizza;

/// <summary>Kitchen timings of the pizza restaurant. Bound from the "Pizza" section.</summary>
public sealed class PizzaOptions
{
    public const string SectionName = "Pizza";

    [Range(1, 240, ErrorMessage = "Pizza:PickupMinutes must be between 1 and 240.")]
    public int PickupMinutes { get; set; } = 20;

    [Range(1, 240, ErrorMessage = "Pizza:DeliveryMinutes must be between 1 and 240.")]
    public int DeliveryMinutes { get; set; } = 40;
}

public enum OrderFulfilment
{
    Pickup,
    Delivery,
}

/// <summary>Places the order: checks it against the menu, prices it, stores it, and says when it will be ready.</summary>
public sealed class PlaceOrderTool(IOrderRepository orders, TimeProvider timeProvider, IOptions<PizzaOptions> options) : Tool<PlaceOrderTool.Args>
{
    public override string Name => "place_order";

    public override string Description =>
        "Place the caller's order once they have confirmed it. Returns the order id, the total to tell the caller, and when it will be ready.";

    // A placed order must be recorded even if the caller talks over the confirmation.
    public override bool IsIdempotent => false;

    protected override async ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken)
    {
        if (args.Items.Count == 0)
        {
            return ToolOutcome.Error("The order has no items.");
        }

        var lines = new List<OrderLine>(args.Items.Count);
        foreach (var item in args.Items)
        {
            var extras = item.Extras ?? [];
            var (price, size, error) = PizzaMenu.Price(item.Item, item.Size, extras);
            if (error is not null)
            {
                return ToolOutcome.Error(error);
            }

            try
            {
                lines.Add(new OrderLine(item.Item.Trim().ToLowerInvariant(), item.Quantity, price, size, extras));
            }
            catch (DomainException ex)
            {
                return ToolOutcome.Error(ex.Message);
            }
        }

        var delivery = args.Fulfilment == OrderFulfilment.Delivery;
        var subtotal = lines.Sum(l => l.Total);
        if (delivery && subtotal < PizzaMenu.DeliveryMinimum)
        {
            return ToolOutcome.Error($"Delivery needs a minimum order of {PizzaMenu.DeliveryMinimum:0.00}; this order is {subtotal:0.00}. Offer pickup or more items.");
        }

        Order order;
        try
        {
            var now = timeProvider.GetUtcNow();
            order = new Order(
                NewOrderId(),
                call.CallSid,
                delivery ? Fulfilment.Delivery : Fulfilment.Pickup,
                lines,
                now,
                args.CustomerName,
                args.DeliveryAddress,
                delivery ? PizzaMenu.DeliveryFee : 0,
                call.UseCase.RecordExpiry(now));
        }
        catch (DomainException ex)
        {
            return ToolOutcome.Error(ex.Message);
        }

        await orders.SaveAsync(order, cancellationToken).ConfigureAwait(false);
        var minutes = delivery ? options.Value.DeliveryMinutes : options.Value.PickupMinutes;
        return Json(new { order.OrderId, order.Total, DeliveryFee = order.DeliveryFee, ReadyInMinutes = minutes, Fulfilment = args.Fulfilment });
    }

    private static string NewOrderId() => "DC-" + RandomNumberGenerator.GetString("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 6);

    public sealed record Args(
        [property: Description("pickup or delivery")] OrderFulfilment Fulfilment,
        [property: Description("The items, as the caller confirmed them.")] List<OrderItem> Items,
        [property: Description("The name for the order.")] string CustomerName,
        [property: Description("Street address, required for delivery.")] string? DeliveryAddress = null,
        [property: Description("A number to call back about the order.")] string? CallbackNumber = null);

    public sealed record OrderItem(
        [property: Description("Menu item, e.g. pepperoni, calzone, garlic knots.")] string Item,
        [property: Description("How many.")] int Quantity,
        [property: Description("small or large, for pizzas.")] string? Size = null,
        [property: Description("Extra toppings, or gluten free crust.")] List<string>? Extras = null);
}

/// <summary>How long until a pickup order is ready.</summary>
public sealed class CheckPickupTimeTool(IOptions<PizzaOptions> options) : Tool<CheckPickupTimeTool.Args>
{
    public override string Name => "check_pickup_time";

    public override string Description => "How many minutes until a new pickup order would be ready.";

    protected override ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Json(new { Minutes = options.Value.PickupMinutes }));

    public sealed record Args;
}

/// <summary>How long a delivery to an address takes, with the fee and minimum.</summary>
public sealed class CheckDeliveryTimeTool(IOptions<PizzaOptions> options) : Tool<CheckDeliveryTimeTool.Args>
{
    public override string Name => "check_delivery_time";

    public override string Description => "How many minutes a delivery to the caller's address takes, the delivery fee and the minimum order.";

    protected override ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken) =>
        ValueTask.FromResult(string.IsNullOrWhiteSpace(args.Address)
            ? ToolOutcome.Error("Ask the caller for their street address first.")
            : Json(new { Minutes = options.Value.DeliveryMinutes, DeliveryFee = PizzaMenu.DeliveryFee, MinimumOrder = PizzaMenu.DeliveryMinimum }));

    public sealed record Args([property: Description("The delivery street address.")] string Address);
}

/// <summary>
/// Dough &amp; Co, the pizza restaurant: its menu (which prices orders and is shown in the prompt as <c>{{menu}}</c>,
/// with the kitchen times as <c>{{kitchen}}</c>), its tools and its seed use case.
/// </summary>
public sealed class PizzaModule : IDomainModule
{
    public void Register(IServiceCollection services)
    {
        services.AddOptions<PizzaOptions>().BindConfiguration(PizzaOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddTool<PlaceOrderTool>().AddTool<CheckPickupTimeTool>().AddTool<CheckDeliveryTimeTool>();
        services.AddSingleton<IPromptValues, PizzaPromptValues>();
    }
}

/// <summary><c>{{menu}}</c> and <c>{{kitchen}}</c> for use cases that take pizza orders.</summary>
internal sealed class PizzaPromptValues(IOptions<PizzaOptions> options) : IPromptValues
{
    public void AddTo(Domain.UseCases.UseCase useCase, IDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(useCase);
        ArgumentNullException.ThrowIfNull(values);
        if (!useCase.AllowsTool("place_order"))
        {
            return;
        }

        values["menu"] = PizzaMenu.Describe();
        values["kitchen"] = PizzaMenu.DescribeKitchen(options.Value);
    }
}
