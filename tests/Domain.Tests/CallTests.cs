using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Domain.Tests;

public sealed class CallTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_call_rings_connects_and_ends_once()
    {
        var call = Call.Create("CA1", "+15550001", "+15550002", "pizza", T0);
        Assert.Equal(CallStatus.Ringing, call.Status);

        call.Connect("VX1", T0.AddSeconds(1));
        call.Connect("VX1", T0.AddSeconds(2));
        Assert.Equal(CallStatus.InProgress, call.Status);
        Assert.Equal(T0.AddSeconds(1), call.ConnectedAt);

        Assert.True(call.End(CallStatus.HandedOff, "{\"reason\":\"x\"}", T0.AddSeconds(30)));
        Assert.False(call.End(CallStatus.Completed, null, T0.AddSeconds(31)));
        Assert.Equal(CallStatus.HandedOff, call.Status);
        Assert.Equal("{\"reason\":\"x\"}", call.HandoffData);
        Assert.Equal(T0.AddSeconds(30), call.EndedAt);
    }

    [Fact]
    public void Each_session_end_is_recorded_once_and_durations_add_up_over_reconnects()
    {
        var call = Call.Create("CA1", "+15550001", "+15550002", "pizza", T0);
        Assert.True(call.RecordSession("VX1", 30, null));
        Assert.False(call.RecordSession("VX1", 30, null));
        Assert.True(call.RecordSession("VX2", 12, "64107"));
        Assert.Equal((42, "64107", "VX2"), (call.SessionSeconds, call.ErrorCode, call.ReportedSessionId));
        Assert.Throws<DomainException>(() => call.RecordSession("VX3", -1, null));
    }

    [Theory]
    [InlineData("CA0123456789abcdef0123456789abcdef", "CA…89abcdef")]
    [InlineData("CA1", "***")]
    [InlineData(null, "(none)")]
    public void Call_ids_are_masked_for_logs(string? callSid, string expected) => Assert.Equal(expected, LogIds.Call(callSid));

    [Fact]
    public void A_new_session_on_a_live_call_is_a_reconnect_and_a_session_after_the_end_is_refused()
    {
        var call = Call.Create("CA1", "+15550001", "+15550002", "pizza", T0);
        call.Connect("VX1", T0);
        call.Connect("VX2", T0.AddMinutes(1));
        Assert.Equal(("VX2", 1, T0), (call.SessionId, call.Reconnects, call.ConnectedAt));

        call.End(CallStatus.Completed, null, T0);
        Assert.Throws<DomainException>(() => call.Connect("VX1", T0));
        Assert.Throws<DomainException>(() => call.End(CallStatus.Ringing, null, T0));
    }

    [Fact]
    public void A_call_needs_a_sid_and_a_use_case()
    {
        Assert.Throws<DomainException>(() => Call.Create("", "a", "b", "pizza", T0));
        Assert.Throws<DomainException>(() => Call.Create("CA1", "a", "b", " ", T0));
    }

    [Theory]
    [InlineData("+15550001234", true)]
    [InlineData("+442071234567", true)]
    [InlineData("15550001234", false)]
    [InlineData("+0555", false)]
    [InlineData("+1555000123456789", false)]
    [InlineData("client:alice", false)]
    [InlineData(null, false)]
    public void E164_numbers_are_recognised(string? number, bool valid)
    {
        Assert.Equal(valid, PhoneNumbers.IsE164(number));
    }

    [Fact]
    public void Masking_keeps_only_the_last_four_digits()
    {
        Assert.Equal("+*******1234", PhoneNumbers.Mask("+15550001234"));
        Assert.Equal("(none)", PhoneNumbers.Mask(null));
        Assert.Equal("***", PhoneNumbers.Mask("abc"));
    }

    [Fact]
    public void Caller_profiles_need_an_E164_number_and_expose_prompt_values()
    {
        Assert.Throws<DomainException>(() => new CallerProfile("555-1234"));

        var profile = new CallerProfile("+15550001234", "Ana", attributes: new Dictionary<string, string> { ["usualOrder"] = "pepperoni" });
        var values = profile.PromptValues();
        Assert.Equal("Ana", values["caller.name"]);
        Assert.Equal("pepperoni", values["caller.usualOrder"]);
    }
}

public sealed class OrderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_context_summary_only_moves_forward_and_a_merge_keeps_the_one_that_reaches_further()
    {
        var call = Call.Create("CA1", "+15550001234", "+15550009999", "pizza", T0);
        Assert.Throws<DomainException>(() => call.FoldContext(" ", 2));
        Assert.Throws<DomainException>(() => call.FoldContext("Ana called.", 0));

        Assert.True(call.FoldContext("Ana called.", 4));
        Assert.False(call.FoldContext("Older notes.", 2));
        Assert.Equal(new ContextFold("Ana called.", 4), call.Fold);

        var stored = Call.Create("CA1", "+15550001234", "+15550009999", "pizza", T0);
        stored.FoldContext("Ana called and ordered.", 8);
        Assert.Equal(8, Call.Merge(stored, call).Fold!.FoldedMessages); // a late write of an older copy takes nothing back
        Assert.Equal(4, Call.Merge(Call.Create("CA1", "+15550001234", "+15550009999", "pizza", T0), call).Fold!.FoldedMessages);
    }

    [Fact]
    public void Totals_add_lines_and_the_delivery_fee()
    {
        var order = new VoiceAgent.Domain.Orders.Order(
            "O-1",
            "CA1",
            VoiceAgent.Domain.Orders.Fulfilment.Delivery,
            [new("Pepperoni", 2, 16.50m, "large"), new("Garlic knots", 1, 5.00m)],
            T0,
            "Ana",
            "42 Elm Street",
            3.00m);

        Assert.Equal(41.00m, order.Total);
        Assert.Equal("42 Elm Street", order.DeliveryAddress);
    }

    [Fact]
    public void Invalid_orders_are_refused_and_pickup_drops_delivery_details()
    {
        Assert.Throws<DomainException>(() => new VoiceAgent.Domain.Orders.Order("O-1", "CA1", VoiceAgent.Domain.Orders.Fulfilment.Pickup, [], T0));
        Assert.Throws<DomainException>(() => new VoiceAgent.Domain.Orders.Order("O-1", "CA1", VoiceAgent.Domain.Orders.Fulfilment.Delivery, [new("Soda", 1, 2m)], T0));
        Assert.Throws<DomainException>(() => new VoiceAgent.Domain.Orders.OrderLine("Soda", 0, 2m));
        Assert.Throws<DomainException>(() => new VoiceAgent.Domain.Orders.OrderLine("Soda", 1, -2m));

        var pickup = new VoiceAgent.Domain.Orders.Order("O-2", "CA1", VoiceAgent.Domain.Orders.Fulfilment.Pickup, [new("Soda", 1, 2m)], T0, deliveryAddress: "x", deliveryFee: 3m);
        Assert.Null(pickup.DeliveryAddress);
        Assert.Equal(2m, pickup.Total);
    }
}
