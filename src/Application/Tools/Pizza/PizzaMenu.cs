using System.Globalization;

namespace VoiceAgent.Application.Tools.Pizza;

/// <summary>Dough &amp; Co's menu: the source of truth for prices (the model never does the arithmetic).</summary>
public sealed class PizzaMenu
{
    public const decimal ExtraTopping = 1.50m;
    public const decimal GlutenFreeCrust = 3.00m;
    public const decimal DeliveryFee = 3.00m;
    public const decimal DeliveryMinimum = 15.00m;

    private static readonly Dictionary<string, Dictionary<string, decimal>> Items = new(StringComparer.OrdinalIgnoreCase)
    {
        ["margherita"] = new(StringComparer.OrdinalIgnoreCase) { ["small"] = 10.00m, ["large"] = 14.00m },
        ["pepperoni"] = new(StringComparer.OrdinalIgnoreCase) { ["small"] = 12.00m, ["large"] = 16.50m },
        ["veggie"] = new(StringComparer.OrdinalIgnoreCase) { ["small"] = 12.00m, ["large"] = 16.00m },
        ["calzone"] = new(StringComparer.OrdinalIgnoreCase) { [""] = 13.50m },
        ["garlic knots"] = new(StringComparer.OrdinalIgnoreCase) { [""] = 5.00m },
        ["caesar salad"] = new(StringComparer.OrdinalIgnoreCase) { [""] = 7.50m },
        ["soda"] = new(StringComparer.OrdinalIgnoreCase) { [""] = 2.00m },
        ["tiramisu"] = new(StringComparer.OrdinalIgnoreCase) { [""] = 6.00m },
    };

    private static readonly HashSet<string> Pizzas = new(StringComparer.OrdinalIgnoreCase) { "margherita", "pepperoni", "veggie" };

    public static string Names => string.Join(", ", Items.Keys);

    /// <summary>The unit price of an item with its size and extras, or the reason it cannot be sold.</summary>
    public static (decimal Price, string? Size, string? Error) Price(string item, string? size, IReadOnlyList<string> extras)
    {
        if (!Items.TryGetValue(item.Trim(), out var sizes))
        {
            return (0, null, $"'{item}' is not on the menu. The menu has: {Names}.");
        }

        string? chosen = null;
        decimal price;
        if (sizes.TryGetValue(string.Empty, out var single))
        {
            price = single;
        }
        else
        {
            if (string.IsNullOrWhiteSpace(size) || !sizes.TryGetValue(size.Trim(), out price))
            {
                return (0, null, $"'{item}' comes in {string.Join(" or ", sizes.Keys)}; ask the caller which size.");
            }

            chosen = size.Trim().ToLower(CultureInfo.InvariantCulture);
        }

        foreach (var extra in extras)
        {
            if (!Pizzas.Contains(item.Trim()))
            {
                return (0, null, $"Extras are only for pizzas, not '{item}'.");
            }

            price += extra.Contains("gluten", StringComparison.OrdinalIgnoreCase) ? GlutenFreeCrust : ExtraTopping;
        }

        return (price, chosen, null);
    }
}
