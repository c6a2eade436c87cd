namespace VoiceAgent.Domain.Conversations;

public enum ConversationRole
{
    User,
    Assistant,
}

/// <summary>An immutable message in a conversation.</summary>
public sealed record ConversationMessage
{
    public ConversationMessage(ConversationRole role, IReadOnlyList<ContentBlock> content)
    {
        ArgumentNullException.ThrowIfNull(content);
        Role = role;
        Content = content;
    }

    public ConversationRole Role { get; }

    public IReadOnlyList<ContentBlock> Content { get; }

    /// <summary>
    /// Set on an answer that a content guardrail stopped (<c>guardrail_intervened</c>, <c>content_filtered</c>): what
    /// the caller heard instead is the text. Kept with the turn; never sent to the model.
    /// </summary>
    public string? Moderation { get; init; }

    /// <summary>On an answer: the tokens of the model call that produced it. Kept with the turn; never sent to the model.</summary>
    public TokenUsage? Usage { get; init; }

    /// <summary>On a turn's closing answer: where the turn's time went. Kept with the turn; never sent to the model.</summary>
    public TurnTimings? Timings { get; init; }

    /// <summary>The text blocks joined, without tool blocks.</summary>
    public string Text
    {
        get
        {
            var texts = Content.OfType<TextBlock>().Select(static t => t.Text);
            return string.Concat(texts);
        }
    }

    public IEnumerable<ToolUseBlock> ToolUses => Content.OfType<ToolUseBlock>();

    public IEnumerable<ToolResultBlock> ToolResults => Content.OfType<ToolResultBlock>();
}
