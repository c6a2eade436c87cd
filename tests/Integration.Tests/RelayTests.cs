using System.Net.WebSockets;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Integration.Tests;

/// <summary>Plays Twilio's side of ConversationRelay over a real WebSocket against the hosted API.</summary>
public sealed class RelayTests
{
    [Fact]
    public async Task A_whole_call_streams_answers_stops_on_barge_in_answers_dtmf_and_records_what_was_heard()
    {
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?> { ["Conversation:SupersedeWait"] = "00:00:00.200" });
        var release = new TaskCompletionSource();
        factory.Model
            .ThenSays("We're open ", "until ten ", "tonight.")
            .Then((_, _) => SpecialsIgnoringCancellation(release.Task))
            .ThenSays("Bye now.");
        await using (var twilio = await factory.ConnectRelayAsync())
        {
            await twilio.SetupAsync();
            await twilio.PromptAsync("How late are you open?");
            var first = await twilio.ReceiveAnswerAsync();
            // Tokens already queued together may share a frame; the text and the end of the answer are what count.
            Assert.Equal("We're open until ten tonight.", RelayClient.Text(first));
            Assert.All(first, f => Assert.Equal("text", f.GetProperty("type").GetString()));
            Assert.Equal([.. Enumerable.Repeat(false, first.Count - 1), true], first.Select(f => f.GetProperty("last").GetBoolean()));

            await twilio.PromptAsync("What are the specials?");
            var partial = await twilio.ReceiveAsync();
            Assert.Equal("Today we have ", partial!.Value.GetProperty("token").GetString());
            await twilio.SendJsonAsync(new { type = "interrupt", utteranceUntilInterrupt = "Today we have", durationUntilInterruptMs = 700 });
            await twilio.SendJsonAsync(new { type = "dtmf", digit = "2" });

            // The key press is answered only after the interrupt was handled, and nothing of the interrupted answer came in between.
            var reply = Assert.Single(await twilio.ReceiveAnswerAsync());
            Assert.StartsWith("We're open Monday to Thursday", reply.GetProperty("token").GetString(), StringComparison.Ordinal);

            // The model keeps talking although its turn was cancelled; the send loop must drop all of it.
            release.SetResult();
            await twilio.PromptAsync("Thanks, bye.");
            var last = await twilio.ReceiveAnswerAsync();
            Assert.Equal("Bye now.", RelayClient.Text(last));
        }

        var messages = await WaitForMessagesAsync(factory, 8);
        Assert.Equal(
            [
                "How late are you open?", "We're open until ten tonight.",
                "What are the specials?", "Today we have",
                "(The caller pressed 2 on the keypad.)", "We're open Monday to Thursday eleven to ten, Friday and Saturday eleven to eleven, and Sunday noon to nine.",
                "Thanks, bye.", "Bye now.",
            ],
            messages.Select(m => m.Text));
    }

    [Fact]
    public async Task Each_turn_stores_where_its_time_went_and_the_call_keeps_its_percentiles()
    {
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?> { ["Conversation:Preemption"] = "false" });
        factory.Model.ThenSays("We're open ", "until ten.").ThenSays("Yes, ", "we deliver.").ThenSays("Bye.");
        await using (var twilio = await factory.ConnectRelayAsync())
        {
            await twilio.SetupAsync();
            await twilio.SendJsonAsync(new { type = "info", name = "roundTripDelayMs", value = 85 });
            await twilio.PromptAsync("How late are you open?");
            await twilio.ReceiveAnswerAsync();
            await twilio.PromptAsync("Do you deliver?");
            await twilio.ReceiveAnswerAsync();
            await twilio.SendJsonAsync(new { type = "error", description = "Invalid message received: card 4111 1111 1111 1111" });
            await twilio.PromptAsync("Thanks.");
            await twilio.ReceiveAnswerAsync();
        }

        var messages = await WaitForMessagesAsync(factory, 6);
        var answers = messages.Where(m => m.Role == ConversationRole.Assistant).ToList();
        Assert.All(answers, answer =>
        {
            var t = answer.Timings!.Value;
            Assert.True(
                t.ModelRequestMs >= 0 && t.FirstModelTokenMs >= t.ModelRequestMs && t.FirstTextMs >= t.FirstModelTokenMs && t.LastTextMs >= t.FirstTextMs,
                $"stages in order: {t}");
            Assert.Equal(1, t.ModelRounds);
        });
        Assert.Equal(["info: name=roundTripDelayMs value=85"], answers[0].Timings!.Value.RelayEvents);
        Assert.Empty(answers[1].Timings!.Value.RelayEvents);
        Assert.Equal(["error: Invalid message received: card [card number]"], answers[2].Timings!.Value.RelayEvents);

        // The call record takes the latencies with its next change, at the latest when it ends.
        await factory.PostSignedAsync("/action", new Dictionary<string, string> { ["CallSid"] = RelayClient.CallSid, ["SessionStatus"] = "completed" });
        await WaitForMessagesAsync(factory, 6);
        var call = (await factory.Get<ICallRepository>().GetAsync(RelayClient.CallSid, CancellationToken.None))!;
        Assert.Equal(answers.Select(a => a.Timings!.Value.FirstTextMs!.Value), call.FirstTextMs);
        Assert.Equal(call.FirstTextMs.Order().ElementAt(1), call.FirstTextP50Ms);
        Assert.Equal(call.FirstTextMs.Max(), call.FirstTextP95Ms);
    }

    [Fact]
    public async Task An_unsigned_upgrade_is_refused()
    {
        await using var factory = new VoiceAgentFactory();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => factory.ConnectRelayAsync(sign: false));
        Assert.Contains("403", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_frames_are_dropped_without_hurting_the_call_and_a_run_of_them_closes_with_1007()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model.ThenSays("Still here.");
        await using var twilio = await factory.ConnectRelayAsync();

        await twilio.SendTextAsync("{not json");
        await twilio.SendTextAsync("{\"type\":\"bogus\"}");
        await twilio.PromptAsync("before setup");
        await twilio.SendTextAsync("{\"type\":\"prompt\",\"voicePrompt\":\"" + new string('x', 5000) + "\"}");
        await twilio.SetupAsync();
        await twilio.SendTextAsync("{\"type\":\"prompt\"}");
        await twilio.SendTextAsync("{\"type\":\"dtmf\",\"digit\":\"xx\"}");
        await twilio.PromptAsync("Are you there?");
        Assert.Equal("Still here.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));

        for (var i = 0; i < 5; i++)
        {
            await twilio.SendTextAsync("garbage " + i);
        }

        Assert.Null(await twilio.ReceiveAsync());
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, twilio.Socket.CloseStatus);
    }

    [Fact]
    public async Task A_session_sending_faster_than_its_inbound_budget_is_read_at_the_budget_and_goes_on_working()
    {
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?>
        {
            ["Relay:MaxFrameBytes"] = "65536",
            ["Relay:MaxInboundBytesPerSecond"] = "65536",

            // Partials a second apart would each start a preemptive answer; the scripted model has one answer.
            ["Conversation:Preemption"] = "false",
        });
        factory.Model.ThenSays("Got it.");
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();
        ActiveCall? call = null;
        await WaitUntilAsync(() => factory.Get<IActiveCallRegistry>().TryGet(RelayClient.CallSid, out call));

        // Six 60 KB partials sent at once: about five seconds' worth of this session's budget.
        var filler = new string('x', 60_000);
        for (var i = 0; i < 6; i++)
        {
            await twilio.SendJsonAsync(new { type = "prompt", voicePrompt = $"frame{i} {filler}", last = false });
        }

        await Task.Delay(500);
        Assert.True(call!.Preview is null or ['f', 'r', 'a', 'm', 'e', '0' or '1' or '2', ..], $"read ahead of the budget: {call.Preview?[..8]}");

        // It is read in the end, at its pace, and the call works.
        await WaitUntilAsync(() => call!.Preview?.StartsWith("frame5", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(30));
        await twilio.PromptAsync("That's all");
        Assert.Equal("Got it.", RelayClient.Text(await twilio.ReceiveAnswerAsync(TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public async Task A_partial_prompt_that_stays_the_same_is_answered_before_the_final_and_released_when_it_confirms()
    {
        await using var factory = new VoiceAgentFactory(realModel: false);
        factory.Model.ThenSays("A large pepperoni, ", "coming up.");
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();

        await twilio.SendJsonAsync(new { type = "prompt", voicePrompt = "A large pepperoni please", last = false });
        await WaitUntilAsync(() => factory.Model.Requests.Count == 1);
        await twilio.SendJsonAsync(new { type = "prompt", voicePrompt = "A large pepperoni, please.", last = true });

        Assert.Equal("A large pepperoni, coming up.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        var request = Assert.Single(factory.Model.Requests);
        Assert.Equal("A large pepperoni please", request.Messages[^1].Text);
    }

    [Fact]
    public async Task Frames_of_types_Twilio_may_add_and_info_frames_never_count_toward_the_bad_frame_close()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model.ThenSays("Still here.");
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();

        // Twice the bad-frame limit of each, interleaved with real bad frames that stay under the limit.
        for (var i = 0; i < 10; i++)
        {
            await twilio.SendJsonAsync(new { type = "transcriptionStats", confidence = 0.9 });
            await twilio.SendJsonAsync(new { type = "info", name = "latency", value = i });
            if (i % 3 == 0)
            {
                await twilio.SendTextAsync("{not json");
            }
        }

        await twilio.PromptAsync("Are you there?");
        Assert.Equal("Still here.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        Assert.Equal(WebSocketState.Open, twilio.Socket.State);
    }

    [Fact]
    public async Task A_misbehaving_call_does_not_disturb_another()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model.ThenSays("Hello ", "there.");
        await using var bad = await factory.ConnectRelayAsync();
        await using var good = await factory.ConnectRelayAsync();
        await good.SetupAsync();

        for (var i = 0; i < 5; i++)
        {
            await bad.SendTextAsync("]");
        }

        await good.PromptAsync("Hi");
        Assert.Equal("Hello there.", RelayClient.Text(await good.ReceiveAnswerAsync()));
        Assert.Null(await bad.ReceiveAsync());
    }

    [Fact]
    public async Task A_flood_of_large_partial_prompts_holds_one_bounded_preview_and_the_final_utterance_is_answered_alone()
    {
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?>
        {
            ["Relay:MaxFrameBytes"] = "65536",
            ["Relay:MaxInboundBytesPerSecond"] = "67108864",
        });
        factory.Model.ThenSays("Other call fine.").ThenSays("Got your order.");
        await using var flooding = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000f01");
        await using var other = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000f02");
        await flooding.SetupAsync();
        await other.SetupAsync();

        var words = string.Join(' ', Enumerable.Repeat("pepperoni", 5_000));
        var flood = Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                await flooding.SendJsonAsync(new { type = "prompt", voicePrompt = words[..(i * 150 % 45_000 + 10)], lang = "en-US", last = false });
            }
        });

        // The other call is answered while the flood goes on.
        await other.PromptAsync("Hello?");
        Assert.Equal("Other call fine.", RelayClient.Text(await other.ReceiveAnswerAsync()));
        await flood;

        // The setup is only sent: the call is registered once the service has read it (on a busy machine, that can be
        // after the other call is answered).
        var registry = factory.Get<IActiveCallRegistry>();
        await WaitUntilAsync(() => registry.TryGet("CA00000000000000000000000000000f01", out _));
        Assert.True(registry.TryGet("CA00000000000000000000000000000f01", out var call));
        await WaitUntilAsync(() => call!.Preview is { Length: > 1_000 });
        Assert.InRange(call!.Preview!.Length, 1, call.MaxUtteranceChars);
        Assert.Null(call.CurrentTurn);

        // None of the partials counted as a bad frame, and only the final utterance reaches the model and the store.
        await flooding.PromptAsync("A large pepperoni please");
        Assert.Equal("Got your order.", RelayClient.Text(await flooding.ReceiveAnswerAsync()));
        Assert.Equal("A large pepperoni please", factory.Model.Requests[^1].Messages[^1].Text);
        var stored = await WaitForMessagesAsync(factory, "CA00000000000000000000000000000f01", 2);
        Assert.Equal(["A large pepperoni please", "Got your order."], stored.Select(m => m.Text));
    }

    [Fact]
    public async Task With_no_model_reachable_the_caller_hears_an_apology_and_the_call_stays_up()
    {
        await using var factory = new VoiceAgentFactory(realModel: true);
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();

        for (var attempt = 0; attempt < 2; attempt++)
        {
            await twilio.PromptAsync("Can I order a pizza?");
            var answer = Assert.Single(await twilio.ReceiveAnswerAsync());
            Assert.StartsWith("Sorry, I'm having a little trouble", answer.GetProperty("token").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(WebSocketState.Open, twilio.Socket.State);
    }

    /// <summary>A model that does not stop when cancelled: it goes on yielding once released.</summary>
    private static async IAsyncEnumerable<ModelStreamEvent> SpecialsIgnoringCancellation(Task release)
    {
        yield return new TextDelta("Today we have ");
        await release;
        yield return new TextDelta("a truffle pizza and ");
        yield return new TextDelta("a spicy calzone.");
        yield return new ModelCompleted(ModelStopReason.EndTurn);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private static Task<IReadOnlyList<ConversationMessage>> WaitForMessagesAsync(VoiceAgentFactory factory, int count) =>
        WaitForMessagesAsync(factory, RelayClient.CallSid, count);

    private static async Task<IReadOnlyList<ConversationMessage>> WaitForMessagesAsync(VoiceAgentFactory factory, string callSid, int count)
    {
        var repository = factory.Get<ICallRepository>();
        var journal = factory.Get<ICallJournal>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var messages = await repository.GetMessagesAsync(callSid, CancellationToken.None);
            if ((messages.Count >= count && journal.Pending == 0) || DateTime.UtcNow > deadline)
            {
                return messages;
            }

            await Task.Delay(10);
        }
    }
}
