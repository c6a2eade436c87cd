using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Orders;
using VoiceAgent.Domain.Tools;

namespace VoiceAgent.Integration.Tests.Persistence;

/// <summary>What every store must do. Run against the embedded store and against DynamoDB (moto).</summary>
public abstract class RepositoryContract
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    protected abstract ICallRepository Calls { get; }

    protected abstract IUseCaseRepository UseCases { get; }

    protected abstract ICallerProfileRepository Profiles { get; }

    protected abstract IOrderRepository Orders { get; }

    protected abstract IRecordStore Records { get; }

    /// <summary>
    /// Whether the store makes a conditional write atomic, as DynamoDB does. moto_server (5.2.1) does not: it checks the
    /// condition and writes without a lock on its threaded server, so racing claims there can both win.
    /// </summary>
    protected virtual bool AtomicConditionalWrites => true;

    /// <summary>Whether the store shares requests between calls whose writes are only text (DynamoDB: BatchWriteItem).</summary>
    protected virtual bool SharesWrites => false;

    [Fact]
    public async Task A_module_record_key_is_taken_once_even_when_many_try_at_the_same_moment()
    {
        var collection = "test-" + Guid.NewGuid().ToString("N")[..8];
        var claims = Enumerable.Range(0, 20).Select(i => (Func<Task<bool>>)(() => Records.TryAddAsync(collection, "2026-12-01T10:00", $$"""{"by":{{i}}}""", null, default)));
        var attempts = AtomicConditionalWrites ? await Task.WhenAll(claims.Select(claim => claim())) : await OneAfterAnotherAsync(claims);
        Assert.Equal(1, attempts.Count(a => a));

        Assert.True(await Records.TryAddAsync(collection, "2026-12-01T11:00", "{}", null, default));
        Assert.True(await Records.TryAddAsync(collection, "2026-12-02T10:00", "{}", null, default));
        Assert.Equal(["2026-12-01T10:00", "2026-12-01T11:00"], (await Records.ListAsync(collection, "2026-12-01", default)).Select(r => r.Key));
        Assert.True(await Records.TryDeleteAsync(collection, "2026-12-01T10:00", default));
        Assert.False(await Records.TryDeleteAsync(collection, "2026-12-01T10:00", default));
        Assert.Equal(2, (await Records.ListAsync(collection, string.Empty, default)).Count);
    }

    [Fact]
    public async Task A_call_is_created_once_and_a_retry_keeps_the_first_record()
    {
        var sid = NewSid();
        await CreateAsync(Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0));
        var connected = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        connected.Connect("VX1", T0.AddSeconds(1));
        await SaveAsync(connected);
        await CreateAsync(Call.Create(sid, "+15550001234", "+15550009999", "other", T0.AddMinutes(1)));

        var stored = await Calls.GetAsync(sid, default);
        Assert.Equal(("pizza", T0, CallStatus.InProgress), (stored!.UseCaseId, stored.CreatedAt, stored.Status));
    }

    [Fact]
    public async Task A_late_write_of_the_live_call_cannot_take_its_end_back_but_adds_its_totals()
    {
        var sid = NewSid();
        await CreateAsync(Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0));
        var ended = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        ended.Connect("VX1", T0.AddSeconds(1));
        ended.End(CallStatus.HandedOff, "{\"reason\":\"agent\"}", T0.AddMinutes(3));
        await SaveAsync(ended);

        // The instance whose session just closed writes what it holds: live, with its latencies.
        var live = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        live.Connect("VX1", T0.AddSeconds(1));
        live.RecordFirstText(420);
        live.RecordFirstText(380);
        await SaveAsync(live);

        var stored = (await Calls.GetAsync(sid, default))!;
        Assert.Equal((CallStatus.HandedOff, T0.AddMinutes(3), "{\"reason\":\"agent\"}"), (stored.Status, stored.EndedAt, stored.HandoffData));
        Assert.Equal([420, 380], stored.FirstTextMs);
        Assert.Equal((380, 420), (stored.FirstTextP50Ms, stored.FirstTextP95Ms));
    }

    [Fact]
    public async Task A_post_call_record_is_written_once_and_read_back_with_the_call()
    {
        var sid = NewSid();
        var record = new CallRecord(CallOutcomes.OrderPlaced, "Ana ordered a calzone.", """{"items":["calzone"]}""", 95, 4, 1, 1200, 300, 0.0042m, T0.AddMinutes(5));
        Assert.False(await Calls.SaveRecordAsync(sid, record, default)); // no such call

        var call = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        call.Connect("VX1", T0);
        call.End(CallStatus.Completed, null, T0.AddMinutes(2));
        await CreateAsync(call);
        Assert.True(await Calls.SaveRecordAsync(sid, record, default));
        Assert.False(await Calls.SaveRecordAsync(sid, record with { Summary = "another" }, default));

        var stored = (await Calls.GetAsync(sid, default))!;
        Assert.Equal(record, stored.Record);

        // A later write of the call keeps its record.
        await SaveAsync(call);
        Assert.Equal(record, (await Calls.GetAsync(sid, default))!.Record);
    }

    [Fact]
    public async Task A_calls_context_summary_is_stored_with_it_and_a_later_write_without_one_keeps_it()
    {
        var sid = NewSid();
        var call = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        await CreateAsync(call);
        Assert.Null((await Calls.GetAsync(sid, default))!.Fold);

        call.FoldContext("Ana is ordering twelve large pizzas for a party; \"toppings\" still open.", 6);
        await SaveAsync(call);
        Assert.Equal(new ContextFold("Ana is ordering twelve large pizzas for a party; \"toppings\" still open.", 6), (await Calls.GetAsync(sid, default))!.Fold);

        // A copy of the call taken before the fold (another session's late write) does not take it back.
        var older = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        older.Connect("VX2", T0);
        await SaveAsync(older);
        Assert.Equal(6, (await Calls.GetAsync(sid, default))!.Fold?.FoldedMessages);
    }

    [Fact]
    public async Task A_call_that_fell_back_to_its_fallback_speech_providers_is_stored_so()
    {
        var sid = NewSid();
        var call = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        await CreateAsync(call);
        Assert.False((await Calls.GetAsync(sid, default))!.SpeechFallbackUsed);

        call.UseSpeechFallback();
        await SaveAsync(call);
        Assert.True((await Calls.GetAsync(sid, default))!.SpeechFallbackUsed);
    }

    [Fact]
    public async Task A_changed_call_never_overwrites_what_identifies_the_stored_call()
    {
        var sid = NewSid();
        await CreateAsync(Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0));

        // A later record of the same call that disagrees on who, where, what and when (a session started elsewhere).
        var other = Call.Create(sid, "+15559999999", "+15550000000", "other", T0.AddMinutes(5));
        other.Connect("VX2", T0.AddMinutes(5));
        other.End(CallStatus.Completed, null, T0.AddMinutes(6));
        await SaveAsync(other);

        var stored = (await Calls.GetAsync(sid, default))!;
        Assert.Equal(("+15550001234", "+15550009999", "pizza", T0), (stored.From, stored.To, stored.UseCaseId, stored.CreatedAt));
        Assert.Equal((CallStatus.Completed, "VX2", T0.AddMinutes(6)), (stored.Status, stored.SessionId, stored.EndedAt));
    }

    [Fact]
    public async Task One_write_stores_the_call_its_messages_deletions_and_tool_calls_together()
    {
        var sid = NewSid();
        var call = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        call.Connect("VX1", T0);
        await Calls.WriteAsync(new CallWrites(sid) { Messages = [new IndexedMessage(5, Text("old"))] }, default);
        await Calls.WriteAsync(
            new CallWrites(sid)
            {
                Call = call,
                Messages = [new IndexedMessage(0, Text("hello")), new IndexedMessage(1, new ConversationMessage(ConversationRole.Assistant, [new TextBlock("hi")]))],
                DeletedMessages = [5],
                ToolCalls = [new ToolCall(sid, "t1", "check_pickup_time", "{}", ToolResultStatus.Success, "{}", T0, TimeSpan.FromMilliseconds(5))],
            },
            default);

        Assert.Equal(CallStatus.InProgress, (await Calls.GetAsync(sid, default))!.Status);
        Assert.Equal(["hello", "hi"], (await Calls.GetMessagesAsync(sid, default)).Select(m => m.Text));
        Assert.Single(await Calls.GetToolCallsAsync(sid, default));
    }

    [Fact]
    public async Task Calls_whose_writes_are_only_text_share_requests_and_the_rest_is_left_for_their_own()
    {
        // 30 calls of one turn each: 60 items, more than one shared request holds.
        var text = Enumerable.Range(0, 30).Select(_ => NewSid()).ToList();
        var withRecord = NewSid();
        var writes = text
            .Select(sid => new CallWrites(sid) { Messages = [new IndexedMessage(0, Text("a large pepperoni")), new IndexedMessage(1, new ConversationMessage(ConversationRole.Assistant, [new TextBlock("Sure.")]))] })
            .Append(new CallWrites(withRecord) { Call = Call.Create(withRecord, "+15550001234", "+15550009999", "pizza", T0), Messages = [new IndexedMessage(0, Text("hello"))] })
            .ToList();

        // One answer carries every field a shared message item can have, and text that JSON must escape.
        var answer = new ConversationMessage(ConversationRole.Assistant, [new TextBlock("S\u00fbre \u2014 \"large\" \ud83c\udf55\n\\ done")])
        {
            Usage = new TokenUsage(1200, 80, 3000, 400),
            Moderation = "content_filtered",
        };
        writes[0] = new CallWrites(text[0]) { Messages = [new IndexedMessage(0, Text("a large pepperoni")), new IndexedMessage(1, answer)] };

        var left = await Calls.WriteSharedAsync(writes, default);

        if (SharesWrites)
        {
            Assert.Equal([withRecord], left.Select(w => w.CallSid));
            foreach (var sid in text.Skip(1))
            {
                Assert.Equal(["a large pepperoni", "Sure."], (await Calls.GetMessagesAsync(sid, default)).Select(m => m.Text));
            }

            var stored = (await Calls.GetMessagesAsync(text[0], default))[1];
            Assert.Equal((answer.Text, answer.Usage, answer.Moderation, ConversationRole.Assistant), (stored.Text, stored.Usage, stored.Moderation, stored.Role));
        }
        else
        {
            Assert.Equal(writes, left);
        }

        Assert.Empty(await Calls.GetMessagesAsync(withRecord, default));
        Assert.Null(await Calls.GetAsync(withRecord, default));

        // One call's turn (two text messages) is shared too: batched, not a transaction. One message alone is left.
        var alone = NewSid();
        var single = NewSid();
        var turn = new CallWrites(alone) { Messages = [new IndexedMessage(0, Text("hours?")), new IndexedMessage(1, new ConversationMessage(ConversationRole.Assistant, [new TextBlock("Eleven to ten.")]))] };
        Assert.Equal(SharesWrites ? [] : [turn], await Calls.WriteSharedAsync([turn], default));
        var one = new CallWrites(single) { Messages = [new IndexedMessage(0, Text("hi"))] };
        Assert.Equal([one], await Calls.WriteSharedAsync([one], default));
    }

    [Fact]
    public async Task A_call_round_trips_every_field()
    {
        var sid = NewSid();
        var call = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        call.Connect("VX1", T0.AddSeconds(2));
        call.End(CallStatus.HandedOff, "{\"reason\":\"human\"}", T0.AddMinutes(3));
        call.RecordSession("VX1", 180, "64107");
        await SaveAsync(call);

        var stored = (await Calls.GetAsync(sid, default))!;
        Assert.Equal(
            (call.CallSid, call.From, call.To, call.UseCaseId, call.Status, call.CreatedAt, call.ConnectedAt, call.EndedAt, call.SessionId, call.HandoffData),
            (stored.CallSid, stored.From, stored.To, stored.UseCaseId, stored.Status, stored.CreatedAt, stored.ConnectedAt, stored.EndedAt, stored.SessionId, stored.HandoffData));
        Assert.Equal((180, "64107", "VX1"), (stored.SessionSeconds, stored.ErrorCode, stored.ReportedSessionId));
        Assert.Null(await Calls.GetAsync(NewSid(), default));
    }

    [Fact]
    public async Task Messages_are_upserted_by_position_deleted_and_read_back_in_order()
    {
        var sid = NewSid();
        var messages = new List<IndexedMessage>();
        for (var i = 0; i < 120; i++)
        {
            var role = i % 2 == 0 ? ConversationRole.User : ConversationRole.Assistant;
            messages.Add(new IndexedMessage(i, new ConversationMessage(role, [new TextBlock($"message {i}")])));
        }

        foreach (var chunk in messages.Chunk(7))
        {
            await MessagesAsync(sid, chunk);
        }

        await MessagesAsync(sid, [new IndexedMessage(119, new ConversationMessage(ConversationRole.Assistant, [new TextBlock("truncated")]))]);
        await Calls.WriteAsync(new CallWrites(sid) { DeletedMessages = [118] }, default);
        await Calls.WriteAsync(new CallWrites(sid) { DeletedMessages = [119] }, default);
        await MessagesAsync(sid, [new IndexedMessage(118, new ConversationMessage(ConversationRole.User, [new TextBlock("again")]))]);

        // More than one transaction's worth in one write.
        var many = NewSid();
        await MessagesAsync(many, messages);
        Assert.Equal(120, (await Calls.GetMessagesAsync(many, default)).Count);

        var stored = await Calls.GetMessagesAsync(sid, default);
        Assert.Equal(119, stored.Count);
        Assert.Equal(Enumerable.Range(0, 118).Select(i => $"message {i}").Append("again"), stored.Select(m => m.Text));
    }

    [Fact]
    public async Task Tool_uses_and_results_round_trip_with_their_blocks()
    {
        var sid = NewSid();
        var use = new ConversationMessage(ConversationRole.Assistant, [new TextBlock("One moment."), new ToolUseBlock("t1", "place_order", "{\"note\":\"100% cheese\"}")]);
        var moderated = new ConversationMessage(ConversationRole.Assistant, [new TextBlock("Sorry, I can't help with that.")]) { Moderation = "guardrail_intervened" };
        var result = new ConversationMessage(ConversationRole.User, [new ToolResultBlock("t1", "{\"orderId\":\"O-1\"}", ToolResultStatus.Success), new TextBlock("thanks")]);
        await MessagesAsync(sid, [new IndexedMessage(1, use), new IndexedMessage(2, result), new IndexedMessage(3, moderated)]);

        var stored = await Calls.GetMessagesAsync(sid, default);
        Assert.Equal(use.Content, stored[0].Content);
        Assert.Equal(result.Content, stored[1].Content);
        Assert.Equal(moderated.Content, stored[2].Content);
        Assert.Equal("guardrail_intervened", stored[2].Moderation);
        Assert.Null(stored[0].Moderation);
    }

    [Fact]
    public async Task Token_usage_and_cost_round_trip_on_the_call_and_its_answers()
    {
        var sid = NewSid();
        var call = Call.Create(sid, "+15550001234", "+15550009999", "pizza", T0);
        await CreateAsync(call);
        call.AddUsage(new TokenUsage(1200, 80, CacheRead: 3000, CacheWrite: 400), 0.000731m);
        call.AddUsage(new TokenUsage(10, 5), 0.00002m);
        call.End(CallStatus.Completed, null, T0.AddMinutes(3));
        await SaveAsync(call);
        var answer = new ConversationMessage(ConversationRole.Assistant, [new TextBlock("Twenty minutes.")]) { Usage = new TokenUsage(1200, 80, 3000, 400) };
        await MessagesAsync(sid, [new IndexedMessage(0, Text("When?")), new IndexedMessage(1, answer)]);

        var stored = (await Calls.GetAsync(sid, default))!;
        Assert.Equal((new TokenUsage(1210, 85, 3000, 400), 0.000751m), (stored.Usage, stored.CostUsd));
        var messages = await Calls.GetMessagesAsync(sid, default);
        Assert.Equal(new TokenUsage(1200, 80, 3000, 400), messages[1].Usage);
        Assert.Null(messages[0].Usage);
    }

    [Fact]
    public async Task Tool_calls_round_trip_in_start_order()
    {
        var sid = NewSid();
        var second = new ToolCall(sid, "t2", "check_pickup_time", "{}", ToolResultStatus.Error, "kitchen offline", T0.AddSeconds(5), TimeSpan.FromMilliseconds(40));
        var first = new ToolCall(sid, "t1", "place_order", "{\"size\":\"large\"}", ToolResultStatus.Success, "{\"orderId\":\"O-1\"}", T0, TimeSpan.FromMilliseconds(120));
        await Calls.WriteAsync(new CallWrites(sid) { ToolCalls = [second] }, default);
        await Calls.WriteAsync(new CallWrites(sid) { ToolCalls = [first] }, default);

        Assert.Equal([first, second], await Calls.GetToolCallsAsync(sid, default));
    }

    [Fact]
    public async Task The_seeded_use_case_and_profile_are_there()
    {
        var useCase = await UseCases.GetAsync("pizza", default);
        Assert.NotNull(useCase);
        Assert.Equal(2, useCase.Languages.Count);
        Assert.Equal(["us.amazon.nova-lite-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0"], useCase.Model.InferenceProfiles);
        Assert.Null(await UseCases.GetAsync("nope", default));

        var listing = await UseCases.ListAsync(default);
        Assert.Equal(["+15550009999"], Assert.Single(listing.UseCases, u => u.Id == "pizza").PhoneNumbers);
        Assert.Empty(listing.Unreadable);

        var profile = await Profiles.FindByPhoneNumberAsync("+15550001234", default);
        Assert.Equal("Ana", profile!.DisplayName);
        Assert.Null(await Profiles.FindByPhoneNumberAsync("+15550000000", default));
    }

    [Fact]
    public async Task Orders_round_trip_with_lines_address_and_total_and_saving_again_replaces()
    {
        var sid = NewSid();
        var delivery = new Order(
            "O-" + Guid.NewGuid().ToString("N")[..8],
            sid,
            Fulfilment.Delivery,
            [new OrderLine("Pepperoni", 2, 16.50m, "large", ["extra cheese"]), new OrderLine("Garlic knots", 1, 5.00m)],
            T0,
            "Ana",
            "42 Elm Street, Apt 3",
            3.00m);
        var pickup = new Order("O-" + Guid.NewGuid().ToString("N")[..8], sid, Fulfilment.Pickup, [new OrderLine("Soda", 3, 2.00m)], T0.AddMinutes(1));
        await Orders.SaveAsync(pickup, default);
        await Orders.SaveAsync(delivery, default);
        await Orders.SaveAsync(delivery, default);

        var stored = await Orders.GetForCallAsync(sid, default);
        Assert.Equal([delivery.OrderId, pickup.OrderId], stored.Select(o => o.OrderId));
        var first = stored[0];
        Assert.Equal((Fulfilment.Delivery, "42 Elm Street, Apt 3", "Ana", 41.00m), (first.Fulfilment, first.DeliveryAddress, first.CustomerName, first.Total));
        Assert.Equal(["extra cheese"], first.Lines[0].Extras);
        Assert.Equal(("large", 2, 16.50m), (first.Lines[0].Size, first.Lines[0].Quantity, first.Lines[0].UnitPrice));
        Assert.Equal(6.00m, stored[1].Total);
        Assert.Empty(await Orders.GetForCallAsync(NewSid(), default));
    }

    [Fact]
    public async Task An_order_past_its_retention_is_not_read_back_and_one_within_it_keeps_its_expiry()
    {
        var sid = NewSid();
        var now = DateTimeOffset.UtcNow;
        var kept = new Order("O-" + Guid.NewGuid().ToString("N")[..8], sid, Fulfilment.Pickup, [new OrderLine("Soda", 1, 2.00m)], now, expiresAt: now.AddDays(30));
        var expired = new Order("O-" + Guid.NewGuid().ToString("N")[..8], sid, Fulfilment.Pickup, [new OrderLine("Soda", 2, 2.00m)], now.AddDays(-31), expiresAt: now.AddDays(-1));
        var forever = new Order("O-" + Guid.NewGuid().ToString("N")[..8], sid, Fulfilment.Pickup, [new OrderLine("Soda", 3, 2.00m)], now.AddMinutes(1));
        await Orders.SaveAsync(kept, default);
        await Orders.SaveAsync(expired, default);
        await Orders.SaveAsync(forever, default);

        var stored = await Orders.GetForCallAsync(sid, default);
        Assert.Equal([kept.OrderId, forever.OrderId], stored.Select(o => o.OrderId));
        Assert.Equal(now.AddDays(30).ToUnixTimeSeconds(), stored[0].ExpiresAt?.ToUnixTimeSeconds());
        Assert.Null(stored[1].ExpiresAt);
    }

    [Fact]
    public async Task A_module_record_past_its_retention_is_not_listed_and_its_key_can_be_taken_again()
    {
        var collection = "test-" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        Assert.True(await Records.TryAddAsync(collection, "2026-12-01T10:00", """{"by":"lapsed"}""", now.AddSeconds(-5), default));
        Assert.True(await Records.TryAddAsync(collection, "2026-12-01T11:00", """{"by":"kept"}""", now.AddDays(30), default));

        Assert.Equal(["2026-12-01T11:00"], (await Records.ListAsync(collection, string.Empty, default)).Select(r => r.Key));
        Assert.False(await Records.TryAddAsync(collection, "2026-12-01T11:00", """{"by":"other"}""", null, default));
        Assert.True(await Records.TryAddAsync(collection, "2026-12-01T10:00", """{"by":"new"}""", null, default));
        Assert.Equal(
            ["""{"by":"new"}""", """{"by":"kept"}"""],
            (await Records.ListAsync(collection, string.Empty, default)).Select(r => r.Json));
    }

    [Fact]
    public async Task A_day_of_calls_and_orders_is_listed_oldest_first_a_page_at_a_time()
    {
        // A day of its own (tests share the store), with calls created a minute apart, and one the day after.
        var day = new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(Random.Shared.Next(0, 3000));
        var sids = Enumerable.Range(0, 7).Select(_ => NewSid()).ToList();
        for (var i = 0; i < sids.Count; i++)
        {
            await CreateAsync(Call.Create(sids[i], "+15550001234", "+15550009999", "pizza", day.AddHours(1).AddMinutes(i)));
            await Orders.SaveAsync(new Order($"O-{i}-{Guid.NewGuid():N}"[..12], sids[i], Fulfilment.Pickup, [new OrderLine("Soda", i + 1, 2.00m)], day.AddHours(2).AddMinutes(i)), default);
        }

        await CreateAsync(Call.Create(NewSid(), "+15550001234", "+15550009999", "pizza", day.AddDays(1)));
        var listDay = DateOnly.FromDateTime(day.UtcDateTime);

        var listed = new List<string>();
        string? after = null;
        var pages = 0;
        do
        {
            var page = await EventuallyAsync(() => Calls.ListDayAsync(listDay, after, 3, default), p => p.Items.Count > 0 || after is not null);
            listed.AddRange(page.Items.Select(c => c.CallSid));
            after = page.Next;
            pages++;
        }
        while (after is not null && pages < 10);

        Assert.Equal(sids, listed);
        Assert.Equal(3, pages);

        var orders = await EventuallyAsync(() => Orders.ListDayAsync(listDay, null, 100, default), p => p.Items.Count == 7);
        Assert.Equal(sids, orders.Items.Select(o => o.CallSid));
        Assert.Null(orders.Next);
        Assert.Empty((await Calls.ListDayAsync(listDay.AddDays(2), null, 10, default)).Items);
    }

    /// <summary>An index read (eventually consistent on DynamoDB) retried briefly until it shows what was written.</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var result = await read();
        for (var i = 0; i < 20 && !done(result); i++)
        {
            await Task.Delay(50);
            result = await read();
        }

        return result;
    }

    protected static string NewSid() => "CA" + Guid.NewGuid().ToString("N");

    private static ConversationMessage Text(string text) => new(ConversationRole.User, [new TextBlock(text)]);

    private Task CreateAsync(Call call) => Calls.WriteAsync(new CallWrites(call.CallSid) { Call = call, CallIsNew = true }, default);

    private Task SaveAsync(Call call) => Calls.WriteAsync(new CallWrites(call.CallSid) { Call = call }, default);

    private Task MessagesAsync(string callSid, IReadOnlyList<IndexedMessage> messages) => Calls.WriteAsync(new CallWrites(callSid) { Messages = messages }, default);

    protected static string SeedPath => Path.Combine(AppContext.BaseDirectory, "seed");

    private static async Task<bool[]> OneAfterAnotherAsync(IEnumerable<Func<Task<bool>>> claims)
    {
        var results = new List<bool>();
        foreach (var claim in claims)
        {
            results.Add(await claim());
        }

        return [.. results];
    }
}
