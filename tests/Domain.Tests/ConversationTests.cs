using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Domain.Tests;

public sealed class ConversationTests
{
    [Fact]
    public void Caller_text_then_answer_alternates_roles()
    {
        var conversation = new Conversation();
        Assert.Equal(0, conversation.AddUserText("Hi"));
        Assert.Equal(1, conversation.AddAssistant([new TextBlock("Hello!")]));
        Assert.Equal(2, conversation.AddUserText("A pizza please"));

        Assert.Equal(
            [ConversationRole.User, ConversationRole.Assistant, ConversationRole.User],
            conversation.Messages.Select(m => m.Role));
    }

    [Fact]
    public void A_snapshot_keeps_the_messages_of_its_moment_whatever_changes_after_it()
    {
        var conversation = new Conversation();
        conversation.AddUserText("Hi");
        conversation.AddAssistant([new TextBlock("Hello! What can I get you?")]);
        conversation.AddUserText("A pizza");
        var early = conversation.Snapshot();
        var tail = conversation.Snapshot(1);

        // Appended, joined, truncated to nothing and replaced, for as long as the arrays grow.
        for (var i = 0; i < 6; i++)
        {
            conversation.AddAssistant([new TextBlock($"Answer {i}")]);
            conversation.AddUserText($"More {i}");
        }

        var late = conversation.Snapshot();
        conversation.AddUserText(" and a drink");
        conversation.AddAssistant([new TextBlock("Sure, anything else?")]);
        var answered = conversation.Snapshot();
        conversation.TruncateLastAssistant(heard: null);
        conversation.AddAssistant([new TextBlock("Coming up.")]);
        conversation.TruncateLastAssistant("Coming");

        Assert.Equal(["Hi", "Hello! What can I get you?", "A pizza"], early.Select(m => m.Text));
        Assert.Equal(["Hello! What can I get you?", "A pizza"], tail.Select(m => m.Text));
        Assert.Equal(2, tail.Count);
        Assert.Equal("A pizza", tail[1].Text);
        Assert.Throws<ArgumentOutOfRangeException>(() => tail[2]);
        Assert.Equal(15, late.Count);
        Assert.Equal("More 5", late[^1].Text);
        Assert.Equal(["More 5 and a drink", "Sure, anything else?"], answered.TakeLast(2).Select(m => m.Text));
        Assert.Equal(["More 5 and a drink", "Coming"], conversation.Messages.TakeLast(2).Select(m => m.Text));
        Assert.Equal(16, conversation.Messages.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => conversation.Snapshot(17));
    }

    [Fact]
    public void Caller_text_after_caller_text_joins_the_same_message()
    {
        var conversation = new Conversation();
        conversation.AddUserText("I want");
        var index = conversation.AddUserText("a calzone");

        Assert.Equal(0, index);
        var only = Assert.Single(conversation.Messages);
        Assert.Equal("I wanta calzone", only.Text);
        Assert.Equal(2, only.Content.Count);
    }

    [Fact]
    public void Assistant_cannot_speak_first_or_twice()
    {
        var conversation = new Conversation();
        Assert.Throws<DomainException>(() => conversation.AddAssistant([new TextBlock("Hello")]));

        conversation.AddUserText("Hi");
        conversation.AddAssistant([new TextBlock("Hello")]);
        Assert.Throws<DomainException>(() => conversation.AddAssistant([new TextBlock("Again")]));
    }

    [Fact]
    public void Empty_text_and_empty_messages_are_refused()
    {
        var conversation = new Conversation();
        Assert.Throws<DomainException>(() => conversation.AddUserText("  "));
        conversation.AddUserText("Hi");
        Assert.Throws<DomainException>(() => conversation.AddAssistant([]));
        Assert.Throws<DomainException>(() => conversation.AddAssistant([new TextBlock(string.Empty)]));
    }

    [Fact]
    public void Every_tool_use_needs_exactly_one_result()
    {
        var conversation = WithToolUses("t1", "t2");

        Assert.Equal(2, conversation.PendingToolUses.Count);
        Assert.Throws<DomainException>(() => conversation.AddUserText("hello?"));
        Assert.Throws<DomainException>(() => conversation.AddToolResults([Ok("t1")]));
        Assert.Throws<DomainException>(() => conversation.AddToolResults([Ok("t1"), Ok("t1"), Ok("t2")]));
        Assert.Throws<DomainException>(() => conversation.AddToolResults([Ok("t1"), Ok("zz")]));

        conversation.AddToolResults([Ok("t2"), Ok("t1")]);
        Assert.Empty(conversation.PendingToolUses);
        Assert.Equal(ConversationRole.User, conversation.Last!.Role);
    }

    [Fact]
    public void Tool_results_without_a_pending_use_are_refused()
    {
        var conversation = new Conversation();
        conversation.AddUserText("Hi");
        Assert.Throws<DomainException>(() => conversation.AddToolResults([Ok("t1")]));
    }

    [Fact]
    public void Duplicate_tool_use_ids_in_one_message_are_refused()
    {
        var conversation = new Conversation();
        conversation.AddUserText("Hi");
        Assert.Throws<DomainException>(() => conversation.AddAssistant([Use("t1"), Use("t1")]));
    }

    [Fact]
    public void Truncation_keeps_what_the_caller_heard_when_it_is_a_prefix()
    {
        var conversation = new Conversation();
        conversation.AddUserText("Hours?");
        conversation.AddAssistant([new TextBlock("We open at eleven and close at ten tonight.")]);

        var result = conversation.TruncateLastAssistant("we open at eleven");

        Assert.Equal(new TruncationResult(1, Removed: false), result);
        Assert.Equal("We open at eleven", conversation.Last!.Text);
    }

    [Fact]
    public void Truncation_uses_the_heard_text_when_it_does_not_match()
    {
        var conversation = new Conversation();
        conversation.AddUserText("Hours?");
        conversation.AddAssistant([new TextBlock("We open at eleven.")]);

        conversation.TruncateLastAssistant("We're open from");

        Assert.Equal("We're open from", conversation.Last!.Text);
    }

    [Fact]
    public void Truncation_to_nothing_removes_a_text_only_answer_and_the_next_caller_text_joins_the_previous()
    {
        var conversation = new Conversation();
        conversation.AddUserText("Hours?");
        conversation.AddAssistant([new TextBlock("We open at eleven.")]);

        var result = conversation.TruncateLastAssistant(string.Empty);
        conversation.AddUserText("Actually, the menu");

        Assert.True(result.Removed);
        var only = Assert.Single(conversation.Messages);
        Assert.Equal("Hours?Actually, the menu", only.Text);
    }

    [Fact]
    public void Truncation_keeps_tool_uses_of_the_answer()
    {
        var conversation = new Conversation();
        conversation.AddUserText("Order a margherita");
        conversation.AddAssistant([new TextBlock("Placing your order now, one moment."), Use("t1")]);

        conversation.TruncateLastAssistant(string.Empty);

        var last = conversation.Last!;
        Assert.Equal(ConversationRole.Assistant, last.Role);
        Assert.Equal("t1", Assert.Single(last.ToolUses).ToolUseId);
        Assert.Empty(last.Text);
    }

    [Fact]
    public void Truncation_does_nothing_when_the_caller_spoke_last()
    {
        var conversation = new Conversation();
        conversation.AddUserText("Hi");
        Assert.False(conversation.TruncateLastAssistant("x").Changed);
    }

    [Fact]
    public void Restore_rebuilds_a_valid_history_and_rejects_a_broken_one()
    {
        var source = WithToolUses("t1");
        source.AddToolResults([Ok("t1")]);
        source.AddAssistant([new TextBlock("Done.")]);

        var restored = Conversation.Restore(source.Messages);
        Assert.Equal(source.Messages.Count, restored.Messages.Count);
        Assert.Equal(source.Messages.Select(m => m.Text), restored.Messages.Select(m => m.Text));

        var broken = new[]
        {
            new ConversationMessage(ConversationRole.Assistant, [new TextBlock("I speak first")]),
        };
        Assert.Throws<DomainException>(() => Conversation.Restore(broken));
    }

    private static Conversation WithToolUses(params string[] ids)
    {
        var conversation = new Conversation();
        conversation.AddUserText("Do things");
        conversation.AddAssistant(ids.Select(id => (ContentBlock)Use(id)).ToList());
        return conversation;
    }

    private static ToolUseBlock Use(string id) => new(id, "check_pickup_time", "{}");

    private static ToolResultBlock Ok(string id) => new(id, "{\"minutes\":20}", ToolResultStatus.Success);
}
