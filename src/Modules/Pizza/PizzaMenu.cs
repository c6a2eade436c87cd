using System.Globalization;

namespace VoiceAgent.Modules.Pizza;

/// <summary>Dough &amp; Co's menu: the source of truth for prices (the model never does the arithmetic).</summary>
public sealed class PizzaMenu
{
    public const decimal ExtraTopping = 1.50m;
    public const decimal GlutenFreeCrust = 3.00m;
    public const decimal DeliveryFee = 3.00m;
    public const decimal DeliveryMinimum = 15.00m;

    /// <summary>The menu: what the prompt shows (<see cref="Describe"/>) and what <see cref="Price"/> charges, one list.</summary>
    private static readonly MenuItem[] Menu =
    [
        new("Margherita", "tomato, mozzarella, basil", IsPizza: true, ("small", 10.00m), ("large", 14.00m)),
        new("Pepperoni", "tomato, mozzarella, pepperoni", IsPizza: true, ("small", 12.00m), ("large", 16.50m)),
        new("Veggie", "tomato, mozzarella, peppers, mushrooms, olives, red onion", IsPizza: true, ("small", 12.00m), ("large", 16.00m)),
        new("Calzone", "ricotta, mozzarella, ham, mushrooms", IsPizza: false, (string.Empty, 13.50m)),
        new("Garlic knots", "six of them", IsPizza: false, (string.Empty, 5.00m)),
        new("Caesar salad", null, IsPizza: false, (string.Empty, 7.50m)),
        new("Soda", "a can", IsPizza: false, (string.Empty, 2.00m)),
        new("Tiramisu", null, IsPizza: false, (string.Empty, 6.00m)),
    ];

    private static readonly Dictionary<string, MenuItem> Items = Menu.ToDictionary(i => i.Name, StringComparer.OrdinalIgnoreCase);

    public static string Names => string.Join(", ", Menu.Select(i => i.Name.ToLowerInvariant()));

    /// <summary>The menu as the system prompt shows it (<c>{{menu}}</c>), prices in US dollars.</summary>
    public static string Describe()
    {
        var text = new System.Text.StringBuilder("MENU (prices in US dollars)");
        foreach (var item in Menu)
        {
            text.Append("\n- ").Append(item.Name).Append(": ");
            if (item.Description is not null)
            {
                text.Append(item.Description).Append(". ");
            }

            text.Append(item.Sizes.Count == 1 && item.Sizes.TryGetValue(string.Empty, out var only)
                ? Money(only)
                : string.Join(", ", item.Sizes.Select((s, i) => (i == 0 ? Capital(s.Key) : s.Key) + " " + Money(s.Value)))).Append('.');
        }

        return text.Append(CultureInfo.InvariantCulture, $"\n- Gluten-free crust on any pizza: add {Money(GlutenFreeCrust)}. Extra topping: {Money(ExtraTopping)} each.").ToString();
    }

    /// <summary>Pickup and delivery times, fee and minimum as the system prompt shows them (<c>{{kitchen}}</c>).</summary>
    public static string DescribeKitchen(PizzaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"Pickup is usually ready in {options.PickupMinutes} minutes. Delivery within 3 miles takes about {options.DeliveryMinutes} minutes, with a {Money(DeliveryFee)} fee and a {Money(DeliveryMinimum)} minimum order.");
    }

    /// <summary>The unit price of an item with its size and extras, or the reason it cannot be sold.</summary>
    public static (decimal Price, string? Size, string? Error) Price(string item, string? size, IReadOnlyList<string> extras)
    {
        if (!Items.TryGetValue(item.Trim(), out var known))
        {
            return (0, null, $"'{item}' is not on the menu. The menu has: {Names}.");
        }

        var sizes = known.Sizes;

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
            if (!known.IsPizza)
            {
                return (0, null, $"Extras are only for pizzas, not '{item}'.");
            }

            price += extra.Contains("gluten", StringComparison.OrdinalIgnoreCase) ? GlutenFreeCrust : ExtraTopping;
        }

        return (price, chosen, null);
    }

    private static string Money(decimal amount) => amount.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Capital(string word) => word.Length == 0 ? word : char.ToUpperInvariant(word[0]) + word[1..];

    private sealed record MenuItem(string Name, string? Description, bool IsPizza, params (string Size, decimal Price)[] Prices)
    {
        public Dictionary<string, decimal> Sizes { get; } = Prices.ToDictionary(p => p.Size, p => p.Price, StringComparer.OrdinalIgnoreCase);
    }
}
