using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Tests;

/// <summary>
/// Each way the model can stop that is not a plain end of turn or a tool use is handled on purpose: a malformed
/// answer is asked for once more, a history too long for the window is sent once more with its latest exchanges, an
/// answer cut by the token limit ends its sentence, and a malformed tool use never runs.
/// </summary>
public sealed class StopReasonTests
{
    [Theory]
    [InlineData(ModelStopReason.MalformedModelOutput)]
    [InlineData(ModelStopReason.MalformedToolUse)]
    public async Task A_malformed_answer_before_any_speech_is_asked_for_once_more_and_the_second_answer_is_spoken(ModelStopReason reason)
    {
        await using var harness = new Harness();
        harness.Model
            .Then((_, ct) => ScriptedModel.Events(reason, ct, new ToolUseRequested("t1", "place_order", "{\"size\":")))
            .ThenSays("We open at eleven.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "When do you open?", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Equal(2, harness.Model.Requests.Count);
        Assert.Equal(harness.Model.Requests[0].Messages, harness.Model.Requests[1].Messages);
        Assert.Equal("We open at eleven.", harness.Output.HeardText);
        Assert.Equal(["When do you open?", "We open at eleven."], call.Conversation.Messages.Select(m => m.Text));
        Assert.Empty(call.Conversation.Messages[^1].ToolUses);
    }

    [Fact]
    public async Task A_malformed_answer_twice_gives_the_apology_and_runs_no_tool()
    {
        await using var harness = new Harness();
        harness.Model
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.MalformedModelOutput, ct))
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.MalformedToolUse, ct, new ToolUseRequested("t1", "place_order", "{}")));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Order please", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Equal(2, harness.Model.Requests.Count);
        Assert.Equal(call.UseCase.ApologyLine, harness.Output.HeardText);
        Assert.True(harness.Output.Heard[^1].Last);
        Assert.Empty(call.Conversation.Messages[^1].ToolUses);
    }

    [Fact]
    public async Task A_malformed_answer_after_speech_is_not_repeated_the_caller_hears_the_apology()
    {
        await using var harness = new Harness();
        harness.Model.Then((_, ct) => ScriptedModel.Events(ModelStopReason.MalformedModelOutput, ct, new TextDelta("We open at")));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "When do you open?", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Single(harness.Model.Requests);
        Assert.Equal("We open at " + call.UseCase.ApologyLine, harness.Output.HeardText);
    }

    [Fact]
    public async Task A_history_past_the_context_window_is_sent_once_more_from_a_caller_message_without_parting_a_tool_use_from_its_result()
    {
        await using var harness = new Harness();
        harness.Model
            .ThenSays("One.")
            .Then((_, ct) => ScriptedModel.ToolUse("place_order", "{}", ct))
            .ThenSays("Placed.")
            .ThenSays("Three.")
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.ModelContextWindowExceeded, ct))
            .ThenSays("Still here.");
        var call = await harness.StartAsync();
        foreach (var line in new[] { "First", "Order it", "Third", "Fourth" })
        {
            await harness.Sender.Send(new PromptReceived(call.CallSid, line, Last: true, Lang: null));
            await call.IdleAsync();
        }

        var full = harness.Model.Requests[^2];
        var shorter = harness.Model.Requests[^1];
        Assert.Equal(9, full.Messages.Count);
        Assert.True(shorter.Messages.Count < full.Messages.Count);
        Assert.Equal(full.Messages.Skip(full.Messages.Count - shorter.Messages.Count), shorter.Messages);
        Assert.Equal(ConversationRole.User, shorter.Messages[0].Role);
        Assert.All(shorter.Messages[0].Content, block => Assert.IsType<TextBlock>(block));
        var toolUses = shorter.Messages.SelectMany(m => m.ToolUses).Select(u => u.ToolUseId).ToHashSet();
        var results = shorter.Messages.SelectMany(m => m.Content.OfType<ToolResultBlock>()).Select(r => r.ToolUseId).ToHashSet();
        Assert.Equal(toolUses, results);
        Assert.EndsWith("Still here.", harness.Output.HeardText, StringComparison.Ordinal);
        Assert.Equal(10, call.Conversation.Messages.Count); // the stored history keeps everything
    }

    [Fact]
    public async Task An_answer_cut_by_the_token_limit_mid_sentence_ends_its_sentence()
    {
        await using var harness = new Harness();
        harness.Model
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.MaxTokens, ct, new TextDelta("We have margherita, pepperoni and")))
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.MaxTokens, ct, new TextDelta("Yes.")));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "What pizzas do you have?", Last: true, Lang: null));
        await call.IdleAsync();
        Assert.Equal("We have margherita, pepperoni and.", harness.Output.HeardText);

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Is that all?", Last: true, Lang: null));
        await call.IdleAsync();
        Assert.Equal("Yes.", call.Conversation.Messages[^1].Text);
    }
}

/// <summary>The model's reasoning is never spoken, and stays with the tool uses it led to.</summary>
public sealed class ReasoningTests
{
    [Fact]
    public async Task Reasoning_is_not_spoken_and_is_kept_ahead_of_the_tool_uses_it_led_to_and_sent_back()
    {
        var pickup = new FakeTool("lookup_status", idempotent: true, (_, _) => Task.FromResult(new ToolOutcome("{\"minutes\":20}")));
        await using var harness = new Harness(Harness.PizzaUseCase(["lookup_status"]), pickup);
        var thought = new ReasoningBlock("The caller wants the pickup time.", "sig-1");
        harness.Model
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.ToolUse, ct, new ReasoningProduced(thought), new TextDelta("Let me check."), new ToolUseRequested("t1", "lookup_status", "{}")))
            .ThenSays("Twenty minutes.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "When is it ready?", Last: true, Lang: null));
        await call.IdleAsync();

        Assert.Equal("Let me check. Twenty minutes.", harness.Output.HeardText);
        var assistant = call.Conversation.Messages[1];
        Assert.Equal([typeof(ReasoningBlock), typeof(TextBlock), typeof(ToolUseBlock)], assistant.Content.Select(b => b.GetType()));
        Assert.Equal(thought, harness.Model.Requests[1].Messages[1].Content[0]);
        Assert.Equal(1, pickup.Invocations);

        // Stored as written, read back whole.
        Assert.Equal(assistant.Content, Persistence.ContentJson.Read(Persistence.ContentJson.Write(assistant.Content)));
    }

    [Fact]
    public void A_barge_in_on_a_tool_answer_keeps_its_reasoning()
    {
        var conversation = new Conversation();
        conversation.AddUserText("When is it ready?");
        conversation.AddAssistant([new ReasoningBlock(null, null, "AAEC"), new TextBlock("Let me check the kitchen for you."), new ToolUseBlock("t1", "lookup_status", "{}")]);

        conversation.TruncateLastAssistant("Let me check");

        Assert.Equal([typeof(ReasoningBlock), typeof(TextBlock), typeof(ToolUseBlock)], conversation.Messages[1].Content.Select(b => b.GetType()));
        Assert.Equal("Let me check", conversation.Messages[1].Text);
    }
}
