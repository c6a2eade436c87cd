using System.Globalization;
using System.Text;

namespace VoiceAgent.Modules.Leasing;

/// <summary>
/// Maple Court's leasing office: the apartments on offer and the viewing hours. The source of truth for what the tools
/// answer and for what the prompt shows (<c>{{apartments}}</c>, <c>{{viewing_hours}}</c>).
/// </summary>
public static class LeasingOffice
{
    public const string Building = "Maple Court, 120 Maple Street";

    /// <summary>Viewings start on the hour, weekdays, from <see cref="FirstViewing"/> to <see cref="LastViewing"/>.</summary>
    public const int FirstViewing = 10;

    public const int LastViewing = 16;

    /// <summary>How many days ahead viewings can be booked.</summary>
    public const int BookingDays = 14;

    public static IReadOnlyList<Apartment> Apartments { get; } =
    [
        new("1D", 0, 1_450, new DateOnly(2026, 11, 1)),
        new("2A", 1, 1_850, new DateOnly(2026, 12, 15)),
        new("4B", 2, 2_600, new DateOnly(2026, 12, 1)),
        new("3C", 2, 2_450, new DateOnly(2027, 1, 1)),
        new("5A", 3, 3_300, new DateOnly(2027, 2, 1)),
    ];

    public static Apartment? Find(string unit) =>
        Apartments.FirstOrDefault(a => string.Equals(a.Unit, unit.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The apartments as the prompt shows them.</summary>
    public static string DescribeApartments()
    {
        var text = new StringBuilder();
        foreach (var apartment in Apartments)
        {
            text.Append(CultureInfo.InvariantCulture, $"- Unit {apartment.Unit}: {apartment.Describe()}, {apartment.Rent} dollars a month, available from {apartment.AvailableFrom:MMMM d, yyyy}.\n");
        }

        return text.ToString().TrimEnd();
    }

    public static string DescribeViewingHours() => string.Create(
        CultureInfo.InvariantCulture,
        $"Viewings are on weekdays, on the hour, from {FirstViewing}:00 to {LastViewing}:00, up to {BookingDays} days ahead; one viewing at a time.");

    /// <summary>Whether <paramref name="slot"/> is a bookable viewing time, seen from <paramref name="today"/>.</summary>
    public static string? CheckSlot(DateTime slot, DateOnly today)
    {
        var day = DateOnly.FromDateTime(slot);
        if (day <= today || day > today.AddDays(BookingDays))
        {
            return $"Viewings can be booked from tomorrow up to {BookingDays} days ahead.";
        }

        if (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
        {
            return "Viewings are on weekdays only.";
        }

        return slot.Minute != 0 || slot.Hour < FirstViewing || slot.Hour > LastViewing
            ? $"Viewings start on the hour between {FirstViewing}:00 and {LastViewing}:00."
            : null;
    }

    /// <summary>Bookable slots from <paramref name="after"/> on, in order.</summary>
    public static IEnumerable<DateTime> SlotsAfter(DateTime after, DateOnly today)
    {
        for (var day = DateOnly.FromDateTime(after); day <= today.AddDays(BookingDays); day = day.AddDays(1))
        {
            for (var hour = FirstViewing; hour <= LastViewing; hour++)
            {
                var slot = day.ToDateTime(new TimeOnly(hour, 0));
                if (slot > after && CheckSlot(slot, today) is null)
                {
                    yield return slot;
                }
            }
        }
    }

    /// <summary>How a slot is written as a record key, and read back from one (or from a date and a time the caller gave).</summary>
    public const string SlotKeyFormat = "yyyy-MM-dd'T'HH:mm";

    /// <summary>The record key of a slot: sortable, one per viewing time.</summary>
    public static string SlotKey(DateTime slot) => slot.ToString(SlotKeyFormat, CultureInfo.InvariantCulture);
}

public sealed record Apartment(string Unit, int Bedrooms, int Rent, DateOnly AvailableFrom)
{
    public string Describe() => Bedrooms == 0 ? "studio" : $"{Bedrooms} bedroom{(Bedrooms > 1 ? "s" : string.Empty)}";
}
