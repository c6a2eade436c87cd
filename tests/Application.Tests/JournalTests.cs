using Microsoft.Extensions.Hosting;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Tests;

public sealed class JournalTests
{
    [Fact]
    public async Task Turns_reach_the_store_in_order_after_the_answer()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        await writer.StartAsync(CancellationToken.None);
        harness.Model.ThenSays("Hi there.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Hello", true, null));
        await call.IdleAsync();
        await writer.StopAsync(CancellationToken.None);

        var stored = await harness.Calls.GetMessagesAsync(call.CallSid, CancellationToken.None);
        Assert.Equal(["Hello", "Hi there."], stored.Select(m => m.Text));
        Assert.Equal(Domain.Calls.CallStatus.InProgress, (await harness.Calls.GetAsync(call.CallSid, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task A_session_end_that_arrives_before_the_call_is_stored_still_ends_it_and_keeps_who_called()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<ICallJournal>();
        const string sid = "CA0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";

        // The call's creation is still queued (a busy journal) when Twilio's session-end callback comes.
        journal.CallCreated(Domain.Calls.Call.Create(sid, "+15550001234", "+15550006000", "leasing", harness.Time.GetUtcNow()));
        var ending = harness.Sender.Send(new Calls.EndSession.EndSession(sid, "VX1", "completed", null, null, 12, null, "+15550001234", "+15550006000")).AsTask();

        // The callback waits for the call's queued writes, but only so long (Twilio waits for its answer): then it
        // decides on what the store has.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Task.Delay(50, timeout.Token);
        Assert.False(ending.IsCompleted);
        while (!ending.IsCompleted)
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(5, timeout.Token);
        }

        await ending;
        await writer.StartAsync(CancellationToken.None);
        while (journal.Pending > 0)
        {
            await Task.Delay(5, timeout.Token);
        }

        await writer.StopAsync(CancellationToken.None);
        var stored = (await harness.Calls.GetAsync(sid, CancellationToken.None))!;
        Assert.Equal((Domain.Calls.CallStatus.Completed, "leasing", 12), (stored.Status, stored.UseCaseId, stored.SessionSeconds));
    }

    [Fact]
    public async Task A_store_outage_delays_writes_but_loses_none()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<ICallJournal>();
        harness.Calls.FailNext(4);
        await writer.StartAsync(CancellationToken.None);
        harness.Model.ThenSays("First answer.").ThenSays("Second answer.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "One", true, null));
        await call.IdleAsync();
        await harness.Sender.Send(new PromptReceived(call.CallSid, "Two", true, null));
        await call.IdleAsync();

        // The call went on while the store was down; retries advance with the fake clock.
        Assert.Equal("First answer.Second answer.", string.Concat(harness.Output.Heard.Select(h => h.Token)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (journal.Pending > 0)
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(5, timeout.Token);
        }

        await writer.StopAsync(CancellationToken.None);
        var stored = await harness.Calls.GetMessagesAsync(call.CallSid, CancellationToken.None);
        Assert.Equal(["One", "First answer.", "Two", "Second answer."], stored.Select(m => m.Text));
        Assert.True(harness.Calls.Attempts > 4, $"the four failed writes were retried ({harness.Calls.Attempts} attempts)");
        Assert.Empty(harness.DeadLetters.Letters);
    }

    [Fact]
    public async Task A_call_whose_writes_are_slow_holds_back_only_its_own_lane_and_keeps_its_order()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        await writer.StartAsync(CancellationToken.None);
        var sids = Enumerable.Range(0, 40).Select(i => $"CA{i:D32}").ToList();
        var slow = harness.Calls.Hold(sids[0]);

        foreach (var round in new[] { 0, 1, 2 })
        {
            foreach (var sid in sids)
            {
                journal.MessagesSaved(sid, [new IndexedMessage(round, Message($"{sid} turn {round}"))]);
            }
        }

        // Every call in another lane is written while the slow one's first write is still in flight.
        var others = sids.Where(sid => journal.LaneOf(sid) != journal.LaneOf(sids[0])).ToList();
        Assert.True(others.Count >= 20);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        foreach (var sid in others)
        {
            while ((await harness.Calls.GetMessagesAsync(sid, CancellationToken.None)).Count < 3)
            {
                await Task.Delay(5, timeout.Token);
            }
        }

        Assert.Empty(await harness.Calls.GetMessagesAsync(sids[0], CancellationToken.None));
        slow.SetResult();
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(0, journal.Pending);
        Assert.Equal(
            ["turn 0", "turn 1", "turn 2"],
            (await harness.Calls.GetMessagesAsync(sids[0], CancellationToken.None)).Select(m => m.Text![^6..]));
    }

    [Fact]
    public async Task A_write_the_store_refuses_for_good_is_set_aside_once_and_the_calls_other_writes_still_land()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        const string sid = "CA00000000000000000000000000000042";
        harness.Calls.Rejects = writes => writes.Messages.Any(m => m.Message.Text.StartsWith("poison", StringComparison.Ordinal));

        journal.MessagesSaved(sid, [new IndexedMessage(0, Message("hello"))]);
        journal.MessagesSaved(sid, [new IndexedMessage(1, Message("poison " + new string('x', 100)))]);
        journal.MessagesSaved(sid, [new IndexedMessage(2, Message("after"))]);
        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(0, journal.Pending);
        Assert.Equal(["hello", "after"], (await harness.Calls.GetMessagesAsync(sid, CancellationToken.None)).Select(m => m.Text));
        var letter = Assert.Single(harness.DeadLetters.Letters);
        Assert.Contains(sid, letter, StringComparison.Ordinal);
        Assert.Contains("item too large", letter, StringComparison.Ordinal);

        // Refused once as part of the batch, once alone to find it: never retried after that.
        Assert.Equal(2, harness.Calls.Rejected);

        // Once the cause is fixed, an operator replays it.
        harness.Calls.Rejects = null;
        var (replayed, kept) = await harness.Get<DeadLetterReplay>().ReplayAsync(CancellationToken.None);
        Assert.Equal((1, 0), (replayed, kept));
        Assert.Empty(harness.DeadLetters.Letters);
        Assert.StartsWith("poison", (await harness.Calls.GetMessagesAsync(sid, CancellationToken.None))[1].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_set_aside_and_replayed_keeps_its_context_summary_latencies_and_fallback()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        var call = VoiceAgent.Domain.Calls.Call.Create("CA00000000000000000000000000000043", "+15550001234", "+15550009999", "pizza", harness.Time.GetUtcNow());
        call.Connect("VX1", harness.Time.GetUtcNow());
        call.FoldContext("Ana is ordering for a party.", 4);
        call.RecordFirstText(420);
        call.UseSpeechFallback();
        harness.Calls.Rejects = writes => writes.Call is not null;

        journal.CallChanged(call);
        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);
        Assert.Single(harness.DeadLetters.Letters);

        harness.Calls.Rejects = null;
        Assert.Equal((1, 0), await harness.Get<DeadLetterReplay>().ReplayAsync(CancellationToken.None));
        var replayed = (await harness.Calls.GetAsync(call.CallSid, CancellationToken.None))!;
        Assert.Equal(call.Fold, replayed.Fold);
        Assert.Equal([420], replayed.FirstTextMs);
        Assert.True(replayed.SpeechFallbackUsed);
    }

    [Fact]
    public async Task A_call_whose_writes_keep_failing_does_not_delay_other_calls_in_its_lane()
    {
        await using var harness = new Harness(new Dictionary<string, string?> { ["Persistence:Writers"] = "1" });
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        const string failing = "CA00000000000000000000000000000001";
        var others = Enumerable.Range(2, 6).Select(i => $"CA{i:D32}").ToList();
        harness.Calls.FailFor = sid => sid == failing;
        await writer.StartAsync(CancellationToken.None);

        foreach (var round in new[] { 0, 1 })
        {
            journal.MessagesSaved(failing, [new IndexedMessage(round, Message($"failing turn {round}"))]);
            foreach (var sid in others)
            {
                journal.MessagesSaved(sid, [new IndexedMessage(round, Message($"turn {round}"))]);
            }
        }

        // Every other call lands while the failing one waits for its retries (the fake clock does not move).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        foreach (var sid in others)
        {
            while ((await harness.Calls.GetMessagesAsync(sid, CancellationToken.None)).Count < 2)
            {
                await Task.Delay(5, timeout.Token);
            }
        }

        Assert.Empty(await harness.Calls.GetMessagesAsync(failing, CancellationToken.None));
        journal.MessagesSaved(failing, [new IndexedMessage(2, Message("failing turn 2"))]);
        harness.Calls.FailFor = null;
        while ((await harness.Calls.GetMessagesAsync(failing, CancellationToken.None)).Count < 3)
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(5, timeout.Token);
        }

        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(["failing turn 0", "failing turn 1", "failing turn 2"], (await harness.Calls.GetMessagesAsync(failing, CancellationToken.None)).Select(m => m.Text));
        Assert.Empty(harness.DeadLetters.Letters);
    }

    [Fact]
    public async Task Writes_waiting_for_a_store_that_stays_down_are_bounded_like_the_queue()
    {
        await using var harness = new Harness(new Dictionary<string, string?> { ["Persistence:Writers"] = "1", ["Persistence:QueueCapacity"] = "16" });
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        harness.Calls.FailFor = _ => true;
        await writer.StartAsync(CancellationToken.None);

        for (var i = 0; i < 200; i++)
        {
            journal.MessagesSaved($"CA{i % 7:D32}", [new IndexedMessage(i, Message($"turn {i}"))]);
            await Task.Yield();
        }

        // At most a lane's worth waits for retry and a lane's worth waits in the queue; the rest was refused.
        Assert.InRange(journal.Pending, 1, 2 * journal.LaneCapacity);
        harness.Calls.FailFor = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (journal.Pending > 0)
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(5, timeout.Token);
        }

        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_calls_ready_entries_go_to_the_store_as_one_request()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        const string sid = "CA00000000000000000000000000000007";
        for (var i = 0; i < 30; i++)
        {
            journal.MessagesSaved(sid, [new IndexedMessage(i, Message($"turn {i}"))]);
        }

        journal.MessageRemoved(sid, 29);
        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(29, (await harness.Calls.GetMessagesAsync(sid, CancellationToken.None)).Count);
        Assert.Equal(["messages " + string.Join(',', Enumerable.Range(0, 29)) + "; delete 29"], harness.Calls.Log);
    }

    [Fact]
    public async Task Calls_whose_writes_are_only_text_share_one_request_after_the_linger()
    {
        await using var harness = new Harness(new Dictionary<string, string?> { ["Persistence:Writers"] = "1", ["Persistence:Linger"] = "00:00:00.050" });
        harness.Calls.Shares = true;
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        await writer.StartAsync(CancellationToken.None);

        // The writer lingers on the clock (as when a first entry wakes it): what arrives meanwhile is written together.
        journal.MessagesSaved("CA00000000000000000000000000000001", [new IndexedMessage(0, Message("one"))]);
        await Task.Delay(20);
        journal.MessagesSaved("CA00000000000000000000000000000002", [new IndexedMessage(0, Message("two")), new IndexedMessage(1, Message("two, answered"))]);
        journal.MessagesSaved("CA00000000000000000000000000000003", [new IndexedMessage(4, Message("three"))]);
        journal.MessageRemoved("CA00000000000000000000000000000004", 7);
        Assert.Empty(harness.Calls.Log);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (journal.Pending > 0)
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(5, timeout.Token);
        }

        await writer.StopAsync(CancellationToken.None);
        // A deletion is not shared: it goes on its own, after the shared request.
        Assert.Equal(["shared 1:0,2:0+1,3:4", "delete 7"], harness.Calls.Log);
        Assert.Equal(["two", "two, answered"], (await harness.Calls.GetMessagesAsync("CA00000000000000000000000000000002", CancellationToken.None)).Select(m => m.Text));
    }

    [Fact]
    public async Task A_busy_writer_waits_out_the_linger_between_passes_so_what_arrives_meanwhile_shares_a_request()
    {
        await using var harness = new Harness(new Dictionary<string, string?>
        {
            ["Persistence:Writers"] = "1",
            ["Persistence:Linger"] = "00:00:00.050",
            ["Persistence:BatchSize"] = "3",
        });
        harness.Calls.Shares = true;
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        await writer.StartAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        // A pass writes one call on its own (one message has nobody to share with) on a slow store, and more calls'
        // messages queue up meanwhile: the writer has work waiting the moment its pass ends (it never goes idle).
        async Task WriteAloneWhileOthersQueue(int alone, params int[] others)
        {
            var slow = harness.Calls.Hold(Sid(alone));
            var held = harness.Calls.Holding;
            journal.MessagesSaved(Sid(alone), [new IndexedMessage(0, Message("alone"))]);

            // The woken writer lingers on the fake clock; move it until the pass has begun (it may not wait yet).
            while (Volatile.Read(ref harness.Calls.Holding) == held)
            {
                harness.Time.Advance(TimeSpan.FromMilliseconds(50));
                await Task.Delay(5, timeout.Token);
            }

            foreach (var other in others)
            {
                journal.MessagesSaved(Sid(other), [new IndexedMessage(0, Message("queued"))]);
            }

            slow.SetResult();
            while (journal.Pending > others.Length)
            {
                await Task.Delay(5, timeout.Token);
            }
        }

        try
        {
            await WriteAloneWhileOthersQueue(1, 2, 3);

            // The next pass waits until a linger after the last one began (the fake clock has not moved): nothing yet.
            await Task.Delay(100, timeout.Token);
            Assert.Equal(["messages 0"], harness.Calls.Log);
            harness.Time.Advance(TimeSpan.FromMilliseconds(50));
            while (journal.Pending > 0)
            {
                await Task.Delay(5, timeout.Token);
            }

            Assert.Equal(["messages 0", "shared 2:0,3:0"], harness.Calls.Log);

            // A whole batch waiting (BatchSize entries) is written at once, without waiting for the clock.
            await WriteAloneWhileOthersQueue(4, 5, 6, 7);
            while (journal.Pending > 0)
            {
                await Task.Delay(5, timeout.Token);
            }

        }
        finally
        {
            // A writer left waiting on the fake clock would hold up the drain for good: give it a bound.
            using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await writer.StopAsync(drain.Token);
        }

        Assert.Equal(["messages 0", "shared 2:0,3:0", "messages 0", "shared 5:0,6:0,7:0"], harness.Calls.Log);
    }

    private static string Sid(int n) => $"CA{n:D32}";

    [Fact]
    public async Task When_a_shared_request_fails_each_call_is_written_on_its_own_and_none_is_lost()
    {
        await using var harness = new Harness(new Dictionary<string, string?> { ["Persistence:Writers"] = "1" });
        harness.Calls.Shares = true;
        harness.Calls.SharedFailuresLeft = 1;
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        foreach (var i in new[] { 1, 2, 3 })
        {
            journal.MessagesSaved($"CA{i:D32}", [new IndexedMessage(0, Message($"turn of {i}"))]);
        }

        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(["messages 0", "messages 0", "messages 0"], harness.Calls.Log);
        foreach (var i in new[] { 1, 2, 3 })
        {
            Assert.Equal([$"turn of {i}"], (await harness.Calls.GetMessagesAsync($"CA{i:D32}", CancellationToken.None)).Select(m => m.Text));
        }

        Assert.Equal(0, journal.Pending);
        Assert.Empty(harness.DeadLetters.Letters);
    }

    [Fact]
    public async Task A_single_calls_text_turn_is_offered_to_shared_requests_too()
    {
        await using var harness = new Harness(new Dictionary<string, string?> { ["Persistence:Writers"] = "1" });
        harness.Calls.Shares = true;
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<CallJournal>();
        journal.MessagesSaved("CA00000000000000000000000000000005", [new IndexedMessage(0, Message("hours?")), new IndexedMessage(1, Message("Eleven to ten."))]);

        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(["shared 5:0+1"], harness.Calls.Log);
    }

    private static ConversationMessage Message(string text) => new(ConversationRole.User, [new TextBlock(text)]);
}
