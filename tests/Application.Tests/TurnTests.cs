using System.Runtime.CompilerServices;
using FluentValidation;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Relay.DtmfReceived;
using VoiceAgent.Application.Relay.Interrupted;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

public sealed class TurnTests
{
    [Fact]
    public async Task A_prompt_streams_the_answer_token_by_token_then_marks_the_end()
    {
        await using var harness = new Harness();
        harness.Model.ThenSays("We open ", "at eleven.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "When do you open?", Last: true, Lang: "en-US"));
        await call.IdleAsync();

        Assert.Equal(["We open ", "at eleven.", ""], harness.Output.Heard.Select(h => h.Token));
        Assert.Equal([false, false, true], harness.Output.Heard.Select(h => h.Last));
        Assert.Equal(["When do you open?", "We open at eleven."], call.Conversation.Messages.Select(m => m.Text));
        var request = Assert.Single(harness.Model.Requests);
        Assert.Equal("You take pizza orders. Caller: .", request.SystemPrompt);
        Assert.Equal("When do you open?", Assert.Single(request.Messages).Text);
    }

    [Fact]
    public async Task Partial_prompts_replace_the_preview_and_only_the_final_utterance_is_answered()
    {
        await using var harness = new Harness();
        harness.Model.ThenSays("Sure.");
        var call = await harness.StartAsync();

        // Each partial is the utterance so far (Twilio's partialPrompts), not a piece to append.
        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large", Last: false, Lang: null));
        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large pepper", Last: false, Lang: null));
        await call.IdleAsync();
        Assert.Equal("A large pepper", call.Preview);
        Assert.Null(call.CurrentTurn);
        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large pepperoni", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Null(call.Preview);
        Assert.Equal("A large pepperoni", Assert.Single(harness.Model.Requests).Messages[0].Text);
        Assert.Equal("A large pepperoni", call.Conversation.Messages[0].Text);
    }

    [Fact]
    public async Task A_prompt_past_the_utterance_limit_is_cut_at_a_word_and_answered_and_partials_stay_within_it()
    {
        await using var harness = new Harness();
        harness.Model.ThenSays("Got it.");
        var call = await harness.StartAsync();
        var words = string.Join(' ', Enumerable.Repeat("pepperoni", 1_000));

        await harness.Sender.Send(new PromptReceived(call.CallSid, words, Last: false, Lang: null));
        await call.IdleAsync();
        Assert.InRange(call.Preview!.Length, 1, call.MaxUtteranceChars);
        await harness.Sender.Send(new PromptReceived(call.CallSid, words + " please", Last: true, Lang: null));
        await call.IdleAsync();

        var said = call.Conversation.Messages[0].Text;
        Assert.Equal(2_000, call.MaxUtteranceChars);
        Assert.InRange(said.Length, 1_900, 2_000);
        Assert.EndsWith("pepperoni", said, StringComparison.Ordinal);
        Assert.All(said.Split(' '), word => Assert.Equal("pepperoni", word));
    }

    [Fact]
    public async Task Barge_in_stops_the_answer_at_once_and_keeps_only_what_was_heard()
    {
        await using var harness = new Harness();
        var release = new TaskCompletionSource();
        harness.Model.Then((_, ct) => SlowAnswer(release.Task, ct));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "What's on the menu?", Last: true, Lang: null));
        await harness.Output.WaitForAsync(o => o.Heard.Count >= 2);
        var turn = call.CurrentTurn!;

        // Once the loop has taken the interrupt, nothing more of the answer is heard, whatever the model still sends.
        await harness.Sender.Send(new Interrupted(call.CallSid, "We have margherita", 900));
        await call.IdleAsync();
        release.SetResult();

        Assert.True(turn.IsCancelled);
        Assert.Equal("We have margherita, pepperoni", harness.Output.HeardText);
        Assert.DoesNotContain(harness.Output.Heard, h => h.Last);
        Assert.Equal(["What's on the menu?", "We have margherita"], call.Conversation.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task Barge_in_after_the_answer_completed_truncates_the_stored_answer()
    {
        await using var harness = new Harness();
        harness.Model.ThenSays("Pickup takes about twenty minutes, delivery forty.");
        var call = await harness.StartAsync();
        await harness.Sender.Send(new PromptReceived(call.CallSid, "How long?", Last: true, Lang: null));
        await call.IdleAsync();

        await harness.Sender.Send(new Interrupted(call.CallSid, "Pickup takes about", 1200));
        await call.IdleAsync();

        Assert.Equal("Pickup takes about", call.Conversation.Last!.Text);
    }

    [Fact]
    public async Task A_new_prompt_supersedes_a_running_turn_without_losing_what_the_caller_said()
    {
        await using var harness = new Harness();
        var firstAsked = new TaskCompletionSource();
        harness.Model.Then((_, ct) => NeverAnswers(firstAsked, ct)).ThenSays("A large margherita, got it.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "I'd like a pizza.", Last: true, Lang: null));
        await firstAsked.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var first = call.CurrentTurn!;
        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large margherita.", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.True(first.IsCancelled);
        Assert.Null(call.CurrentTurn);
        Assert.Equal(2, call.Conversation.Messages.Count);
        Assert.Equal("I'd like a pizza.A large margherita.", call.Conversation.Messages[0].Text);
        Assert.Equal(2, harness.Model.Requests[1].Messages[0].Content.Count);
        Assert.Equal("A large margherita, got it.", call.Conversation.Messages[1].Text);
    }

    [Fact]
    public async Task A_failing_model_gives_the_apology_and_the_call_goes_on()
    {
        await using var harness = new Harness();
        harness.Model.Then((_, _) => Fails()).ThenSays("Hello again!");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Hello?", Last: true, Lang: null));
        await call.IdleAsync();
        var apology = Assert.Single(harness.Output.Heard);
        Assert.Equal(("Sorry, say that again?", true), (apology.Token, apology.Last));

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Hello!", Last: true, Lang: null));
        await call.IdleAsync();
        Assert.Equal("Sorry, say that again?Hello again!", harness.Output.HeardText);
        Assert.Equal(
            [ConversationRole.User, ConversationRole.Assistant, ConversationRole.User, ConversationRole.Assistant],
            call.Conversation.Messages.Select(m => m.Role));
    }

    [Fact]
    public async Task A_guardrail_intervention_speaks_the_use_case_line_runs_no_tool_and_is_recorded_on_the_turn()
    {
        await using var harness = new Harness();
        harness.Model.Then((_, ct) => ScriptedModel.Events(
            ModelStopReason.GuardrailIntervened, ct, new TextDelta("Here is how"), new ToolUseRequested("t1", "place_order", "{}")));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Tell me something awful", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Equal("Here is how " + call.UseCase.GuardrailLine, harness.Output.HeardText);
        Assert.True(harness.Output.Heard[^1].Last);
        Assert.Single(harness.Model.Requests);
        var answer = call.Conversation.Messages[^1];
        Assert.Equal(("guardrail_intervened", "Here is how " + call.UseCase.GuardrailLine), (answer.Moderation, answer.Text));
        Assert.Empty(answer.ToolUses);
    }

    [Fact]
    public async Task A_mapped_key_speaks_its_reply_without_the_model()
    {
        var useCase = Harness.PizzaUseCase(dtmf: new Dictionary<string, DtmfAction> { ["2"] = new DtmfReply("We open at eleven.") });
        await using var harness = new Harness(useCase);
        var call = await harness.StartAsync();

        await harness.Sender.Send(new DtmfReceived(call.CallSid, "2"));
        await call.IdleAsync();
        Assert.Null(call.CurrentTurn);
        harness.Time.Advance(TimeSpan.FromSeconds(1.5));
        await call.IdleAsync();

        Assert.Empty(harness.Model.Requests);
        var reply = Assert.Single(harness.Output.Heard);
        Assert.Equal(("We open at eleven.", true), (reply.Token, reply.Last));
        Assert.Equal("We open at eleven.", call.Conversation.Last!.Text);
    }

    [Fact]
    public async Task An_unmapped_key_goes_to_the_model()
    {
        await using var harness = new Harness();
        harness.Model.ThenSays("You pressed five.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new DtmfReceived(call.CallSid, "5"));
        await harness.Sender.Send(new DtmfReceived(call.CallSid, "#"));
        await call.IdleAsync();

        Assert.Contains("pressed 5# on the keypad", Assert.Single(harness.Model.Requests).Messages[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_are_gathered_until_the_inter_digit_timeout_and_mapped_as_a_sequence()
    {
        var dtmf = new Dictionary<string, DtmfAction> { ["12"] = new DtmfReply("Twelve it is."), ["1"] = new DtmfReply("One.") };
        await using var harness = new Harness(Harness.PizzaUseCase(dtmf: dtmf));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new DtmfReceived(call.CallSid, "1"));
        await call.IdleAsync();
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        await harness.Sender.Send(new DtmfReceived(call.CallSid, "2"));
        await call.IdleAsync();
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(call.CurrentTurn);
        harness.Time.Advance(TimeSpan.FromSeconds(0.5));
        await call.IdleAsync();

        Assert.Equal("Twelve it is.", harness.Output.HeardText);
    }

    [Fact]
    public async Task A_key_mapped_to_a_tool_runs_it()
    {
        var dtmf = new Dictionary<string, DtmfAction>
        {
            ["0"] = new DtmfInvokeTool("live_agent_handoff", "{\"reason_code\":\"user_requested\",\"summary\":\"Pressed 0.\"}"),
        };
        var useCase = Harness.PizzaUseCase(["live_agent_handoff"], dtmf, handoff: new HandoffSettings(HandoffMode.Dial, "+15005550006"));
        await using var harness = new Harness(useCase);
        var call = await harness.StartAsync();

        await harness.Sender.Send(new DtmfReceived(call.CallSid, "0"));
        await call.IdleAsync();
        harness.Time.Advance(TimeSpan.FromSeconds(1.5));
        await harness.Output.WaitForAsync(o => o.Sent.Any(s => s.Message is EndRelay));

        var end = harness.Output.Sent.Select(s => s.Message).OfType<EndRelay>().Single();
        Assert.Contains("Pressed 0.", end.HandoffData, StringComparison.Ordinal);
        Assert.Empty(harness.Model.Requests);
    }

    [Fact]
    public async Task Invalid_commands_are_refused_before_any_handler_runs()
    {
        await using var harness = new Harness();
        var call = await harness.StartAsync();

        await Assert.ThrowsAsync<ValidationException>(async () => await harness.Sender.Send(new DtmfReceived(call.CallSid, "xx")));
        await Assert.ThrowsAsync<ValidationException>(async () => await harness.Sender.Send(new PromptReceived(call.CallSid, null!, true, null)));
        Assert.Null(call.CurrentTurn);
    }

    [Fact]
    public async Task Session_start_fills_the_prompt_and_registers_the_call()
    {
        await using var harness = new Harness();
        var call = await harness.StartAsync();

        Assert.True(harness.Get<IActiveCallRegistry>().TryGet(call.CallSid, out var registered));
        Assert.Same(call, registered);
        Assert.Equal(Domain.Calls.CallStatus.InProgress, call.Call.Status);
        Assert.Equal("VX1", call.Call.SessionId);
    }

    private static async IAsyncEnumerable<ModelStreamEvent> SlowAnswer(Task release, [EnumeratorCancellation] CancellationToken ct)
    {
        yield return new TextDelta("We have margherita");
        yield return new TextDelta(", pepperoni");
        await release.WaitAsync(ct);
        yield return new TextDelta(" and calzone.");
        yield return new ModelCompleted(ModelStopReason.EndTurn);
    }

    private static async IAsyncEnumerable<ModelStreamEvent> NeverAnswers(TaskCompletionSource asked, [EnumeratorCancellation] CancellationToken ct)
    {
        asked.SetResult();
        await Task.Delay(Timeout.Infinite, ct);
        yield break;
    }

    private static async IAsyncEnumerable<ModelStreamEvent> Fails()
    {
        await Task.Yield();
        throw new LanguageModelUnavailableException("connection refused");
#pragma warning disable CS0162 // an iterator needs a yield
        yield break;
#pragma warning restore CS0162
    }
}

public sealed class ResumeTests
{
    [Fact]
    public async Task A_call_moved_from_a_stopping_instance_continues_its_conversation()
    {
        await using var harness = new Harness();
        await StoreLiveCallAsync(harness, "VX-old", "A large pepperoni", "Pickup or delivery?");
        harness.Model.ThenSays("Pickup it is.");

        var resumed = await harness.StartAsync(resume: true);
        await harness.Sender.Send(new PromptReceived(resumed.CallSid, "Pickup", true, null));
        await resumed.IdleAsync();

        Assert.Equal(["A large pepperoni", "Pickup or delivery?", "Pickup"], harness.Model.Requests[0].Messages.Select(m => m.Text));
        Assert.Equal(1, resumed.Call.Reconnects);
        Assert.Equal(2, harness.Calls.Reads);
    }

    [Fact]
    public async Task A_call_the_webhook_just_answered_starts_with_an_empty_history_without_reading_the_store()
    {
        await using var harness = new Harness();
        await StoreLiveCallAsync(harness, "VX-other", "someone else's words");

        var call = await harness.StartAsync();

        Assert.Empty(call.Conversation.Messages);
        Assert.Equal(0, harness.Calls.Reads);
        Assert.Equal("+15550001234", call.Call.From);
    }

    [Theory]
    [InlineData("es-us", "es-US")]
    [InlineData("fr-FR", null)]
    public async Task A_call_handed_over_in_another_language_goes_on_in_it_if_the_use_case_offers_it(string carried, string? expected)
    {
        await using var harness = new Harness();

        var call = await harness.StartAsync(new Dictionary<string, string> { [VoiceAgent.Application.Calls.CallParameters.Language] = carried });

        Assert.Equal(expected, call.Language);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("es-US")]
    public void The_drain_hand_over_carries_the_language_it_was_given(string? language)
    {
        var data = VoiceAgent.Application.Calls.EndSession.DrainHandover.HandoffData(language);

        Assert.True(VoiceAgent.Application.Calls.EndSession.DrainHandover.TryRead(data, out var read));
        Assert.Equal(language, read);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("{not json")]
    [InlineData("[]")]
    [InlineData("""{"reason_code":"complaint","language":"es-US"}""")]
    [InlineData("""{"reason_code":7}""")]
    public void Other_handoff_data_is_not_a_drain_hand_over(string? data)
    {
        Assert.False(VoiceAgent.Application.Calls.EndSession.DrainHandover.TryRead(data, out var language));
        Assert.Null(language);
    }

    /// <summary>
    /// The harness's call as the store has it while live on another session: connected, with <paramref name="texts"/>
    /// as its history (caller and agent in turn).
    /// </summary>
    internal static async Task<VoiceAgent.Domain.Calls.Call> StoreLiveCallAsync(Harness harness, string sessionId, params string[] texts)
    {
        const string sid = "CA00000000000000000000000000000001";
        var call = VoiceAgent.Domain.Calls.Call.Create(sid, "+15550001234", "+15550009999", "pizza", harness.Time.GetUtcNow());
        call.Connect(sessionId, harness.Time.GetUtcNow());
        await harness.Calls.SaveAsync(call, default);
        await harness.Calls.SaveMessagesAsync(
            sid,
            [.. texts.Select((text, i) => new IndexedMessage(i, new VoiceAgent.Domain.Conversations.ConversationMessage(
                i % 2 == 0 ? VoiceAgent.Domain.Conversations.ConversationRole.User : VoiceAgent.Domain.Conversations.ConversationRole.Assistant,
                [new VoiceAgent.Domain.Conversations.TextBlock(text)])))],
            default);
        return call;
    }
}
