using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using VoiceAgent.Application;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Modules;
using VoiceAgent.Application.Tools;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Modules.Leasing;

/// <summary>
/// The leasing office of an apartment building: inbound leads ask what is available, book a viewing, see or cancel
/// theirs. Viewings live in the store: one record per slot (<c>viewings</c>, created only if the slot is free, so two
/// callers can never book the same one) and one per caller (<c>viewings-by-caller</c>, by the number the call came from).
/// </summary>
public sealed class LeasingModule : IDomainModule
{
    public void Register(IServiceCollection services)
    {
        services.AddTool<ListAvailableApartmentsTool>()
            .AddTool<CheckExistingAppointmentsTool>()
            .AddTool<BookViewingTool>()
            .AddTool<CancelViewingTool>();
        services.AddSingleton<IPromptValues, LeasingPromptValues>();
    }
}

/// <summary><c>{{apartments}}</c> and <c>{{viewing_hours}}</c> for use cases that book viewings.</summary>
internal sealed class LeasingPromptValues : IPromptValues
{
    public void AddTo(UseCase useCase, IDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(useCase);
        ArgumentNullException.ThrowIfNull(values);
        if (useCase.AllowsTool("book_viewing"))
        {
            values["apartments"] = LeasingOffice.DescribeApartments();
            values["viewing_hours"] = LeasingOffice.DescribeViewingHours();
        }
    }
}

/// <summary>The apartments that match what the caller wants.</summary>
public sealed class ListAvailableApartmentsTool : Tool<ListAvailableApartmentsTool.Args>
{
    public override string Name => "list_available_apartments";

    public override string Description => "Apartments available to rent, optionally filtered by bedrooms, maximum monthly rent and move-in date.";

    protected override ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken)
    {
        DateOnly? moveIn = null;
        if (args.MoveInDate is { Length: > 0 } date)
        {
            if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            {
                return ValueTask.FromResult(ToolOutcome.Error("move_in_date must be a date like 2026-12-01."));
            }

            moveIn = parsed;
        }

        var matching = LeasingOffice.Apartments
            .Where(a => args.Bedrooms is not { } bedrooms || a.Bedrooms == bedrooms)
            .Where(a => args.MaxRent is not { } rent || a.Rent <= rent)
            .Where(a => moveIn is not { } day || a.AvailableFrom <= day)
            .Select(a => new { a.Unit, a.Bedrooms, MonthlyRent = a.Rent, AvailableFrom = a.AvailableFrom.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) })
            .ToList();
        return ValueTask.FromResult(Json(new { Building = LeasingOffice.Building, Apartments = matching }));
    }

    public sealed record Args(
        [property: Description("Number of bedrooms; 0 for a studio.")] int? Bedrooms = null,
        [property: Description("The most the caller wants to pay a month, in dollars.")] int? MaxRent = null,
        [property: Description("When the caller wants to move in, as yyyy-MM-dd.")] string? MoveInDate = null);
}

/// <summary>The caller's booked viewings, found by the number they call from.</summary>
public sealed class CheckExistingAppointmentsTool(IRecordStore records, TimeProvider time) : Tool<CheckExistingAppointmentsTool.Args>
{
    public override string Name => "check_existing_appointments";

    public override string Description => "The viewings this caller has already booked (found by the number they are calling from).";

    protected override async ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken)
    {
        var now = LeasingRecords.Now(time);
        var booked = await LeasingRecords.ViewingsOfAsync(records, call.Call.From, cancellationToken).ConfigureAwait(false);
        return Json(new
        {
            Viewings = booked.Where(v => v.Slot > now).Select(v => new { v.Unit, Date = v.Slot.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Time = v.Slot.ToString("HH:mm", CultureInfo.InvariantCulture) }),
        });
    }

    public sealed record Args;
}

/// <summary>Books a viewing; a slot already taken gets the next free ones instead.</summary>
public sealed class BookViewingTool(IRecordStore records, TimeProvider time) : Tool<BookViewingTool.Args>
{
    public override string Name => "book_viewing";

    public override string Description =>
        "Book a viewing of an apartment at a date and time the caller chose. If the time is taken, the result offers the next free times.";

    public override bool IsIdempotent => false;

    protected override async ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken)
    {
        if (LeasingOffice.Find(args.Unit) is not { } apartment)
        {
            return ToolOutcome.Error($"There is no unit '{args.Unit}'. Units: {string.Join(", ", LeasingOffice.Apartments.Select(a => a.Unit))}.");
        }

        if (!LeasingRecords.TryParseSlot(args.Date, args.Time, out var slot))
        {
            return ToolOutcome.Error("Give the date as yyyy-MM-dd and the time as HH:mm, e.g. 2026-12-01 and 14:00.");
        }

        var today = DateOnly.FromDateTime(LeasingRecords.Now(time));
        if (LeasingOffice.CheckSlot(slot, today) is { } problem)
        {
            return ToolOutcome.Error(problem);
        }

        var key = LeasingOffice.SlotKey(slot);
        var viewing = JsonSerializer.Serialize(new LeasingRecords.Viewing(apartment.Unit, args.Name, call.Call.From), ArgumentOptions);
        var expiresAt = call.UseCase.RecordExpiry(time.GetUtcNow());
        if (!await records.TryAddAsync(LeasingRecords.Viewings, key, viewing, expiresAt, cancellationToken).ConfigureAwait(false))
        {
            var free = await LeasingRecords.FreeSlotsAsync(records, slot, today, 3, cancellationToken).ConfigureAwait(false);
            return ToolOutcome.Error(
                $"That time is taken. The next free times: {string.Join(", ", free.Select(s => s.ToString("dddd MMMM d 'at' HH:mm", CultureInfo.InvariantCulture)))}. Offer these to the caller.");
        }

        await records.TryAddAsync(LeasingRecords.ByCaller, LeasingRecords.CallerKey(call.Call.From, key), viewing, expiresAt, cancellationToken).ConfigureAwait(false);
        return Json(new { Booked = true, apartment.Unit, args.Date, args.Time, LeasingOffice.Building });
    }

    public sealed record Args(
        [property: Description("The unit to view, e.g. 4B.")] string Unit,
        [property: Description("The date, yyyy-MM-dd.")] string Date,
        [property: Description("The time, HH:mm on the hour, e.g. 14:00.")] string Time,
        [property: Description("The caller's name for the booking.")] string Name);
}

/// <summary>Cancels one of the caller's viewings, freeing the slot.</summary>
public sealed class CancelViewingTool(IRecordStore records) : Tool<CancelViewingTool.Args>
{
    public override string Name => "cancel_viewing";

    public override string Description => "Cancel a viewing the caller booked, by its date and time.";

    public override bool IsIdempotent => false;

    protected override async ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken)
    {
        if (!LeasingRecords.TryParseSlot(args.Date, args.Time, out var slot))
        {
            return ToolOutcome.Error("Give the date as yyyy-MM-dd and the time as HH:mm.");
        }

        var key = LeasingOffice.SlotKey(slot);

        // Only the caller who booked it may cancel it: their own record comes first.
        if (!await records.TryDeleteAsync(LeasingRecords.ByCaller, LeasingRecords.CallerKey(call.Call.From, key), cancellationToken).ConfigureAwait(false))
        {
            return ToolOutcome.Error("This caller has no viewing at that time. Check their viewings first.");
        }

        await records.TryDeleteAsync(LeasingRecords.Viewings, key, cancellationToken).ConfigureAwait(false);
        return Json(new { Cancelled = true, args.Date, args.Time });
    }

    public sealed record Args(
        [property: Description("The date of the viewing, yyyy-MM-dd.")] string Date,
        [property: Description("The time of the viewing, HH:mm.")] string Time);
}

/// <summary>How the leasing office keeps viewings in the module record store.</summary>
internal static class LeasingRecords
{
    public const string Viewings = "leasing-viewings";
    public const string ByCaller = "leasing-viewings-by-caller";

    public sealed record Viewing(string Unit, string Name, string Phone);

    /// <summary>The building's clock. (The office keeps the building's local time; this sample building uses UTC.)</summary>
    public static DateTime Now(TimeProvider time) => time.GetUtcNow().UtcDateTime;

    public static string CallerKey(string phone, string slotKey) => phone + "#" + slotKey;

    public static bool TryParseSlot(string date, string clock, out DateTime slot) =>
        DateTime.TryParseExact($"{date.Trim()}T{clock.Trim()}", LeasingOffice.SlotKeyFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out slot);

    public static async Task<IReadOnlyList<(DateTime Slot, string Unit)>> ViewingsOfAsync(IRecordStore records, string phone, CancellationToken cancellationToken)
    {
        var mine = await records.ListAsync(ByCaller, phone + "#", cancellationToken).ConfigureAwait(false);
        var result = new List<(DateTime, string)>();
        foreach (var record in mine)
        {
            var slotKey = record.Key[(phone.Length + 1)..];
            var viewing = JsonSerializer.Deserialize<Viewing>(record.Json, Tool<CheckExistingAppointmentsTool.Args>.ArgumentOptions)!;
            result.Add((DateTime.ParseExact(slotKey, LeasingOffice.SlotKeyFormat, CultureInfo.InvariantCulture), viewing.Unit));
        }

        return result;
    }

    /// <summary>The first <paramref name="count"/> free slots after <paramref name="after"/>.</summary>
    public static async Task<IReadOnlyList<DateTime>> FreeSlotsAsync(IRecordStore records, DateTime after, DateOnly today, int count, CancellationToken cancellationToken)
    {
        var taken = (await records.ListAsync(Viewings, string.Empty, cancellationToken).ConfigureAwait(false)).Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        return [.. LeasingOffice.SlotsAfter(after, today).Where(s => !taken.Contains(LeasingOffice.SlotKey(s))).Take(count)];
    }
}
