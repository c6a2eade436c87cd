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
