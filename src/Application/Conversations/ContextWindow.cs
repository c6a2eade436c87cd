using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// What to send when the history no longer fits the model's context window: only its latest exchanges. The cut is
/// made before a message the caller spoke (a user message without tool results), so the request starts with a user
/// message and no tool use is parted from its result. The stored transcript keeps everything.
/// </summary>
internal static class ContextWindow
{
    /// <summary>The request with the newest half of its history or less; null when no shorter cut exists.</summary>
    public static ModelRequest? Latest(ModelRequest request)
    {
        var messages = request.Messages;
        for (var start = Math.Max(1, messages.Count / 2); start < messages.Count; start++)
        {
            if (IsCallerMessage(messages[start]))
            {
                return request with { Messages = [.. messages.Skip(start)] };
            }
        }

        return null;
    }

    public static bool IsCallerMessage(ConversationMessage message) =>
        message.Role == ConversationRole.User && message.Content.All(block => block is TextBlock);
}
