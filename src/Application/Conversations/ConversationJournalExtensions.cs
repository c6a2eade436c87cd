using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

internal static class ConversationJournalExtensions
{
    /// <summary>Journals every message from <paramref name="fromIndex"/> on. Call under the call's gate.</summary>
    public static void SaveFrom(this ICallJournal journal, ActiveCall call, int fromIndex)
    {
        var messages = call.Conversation.Messages;
        var changed = new List<IndexedMessage>(Math.Max(0, messages.Count - fromIndex));
        for (var i = Math.Max(0, fromIndex); i < messages.Count; i++)
        {
            changed.Add(new IndexedMessage(i, messages[i]));
        }

        if (changed.Count > 0)
        {
            journal.MessagesSaved(call.CallSid, changed);
        }
    }

    /// <summary>Journals what a truncation changed. Call under the call's gate.</summary>
    public static void SaveTruncation(this ICallJournal journal, ActiveCall call, TruncationResult result)
    {
        if (!result.Changed)
        {
            return;
        }

        if (result.Removed)
        {
            journal.MessageRemoved(call.CallSid, result.Index);
        }
        else
        {
            journal.SaveFrom(call, result.Index);
        }
    }
}
