using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Tools;

namespace VoiceAgent.Application.Persistence;

/// <summary>One change of one call, queued for the store.</summary>
internal abstract record JournalEntry(string CallSid)
{
    /// <summary>Items this entry writes.</summary>
    public abstract int Items { get; }
}

internal sealed record CallCreatedEntry(Call Call) : JournalEntry(Call.CallSid)
{
    public override int Items => 1;
}

internal sealed record CallChangedEntry(Call Call) : JournalEntry(Call.CallSid)
{
    public override int Items => 1;
}

internal sealed record MessagesSavedEntry(string Sid, IReadOnlyList<IndexedMessage> Messages) : JournalEntry(Sid)
{
    public override int Items => Messages.Count;
}

internal sealed record MessageRemovedEntry(string Sid, int Index) : JournalEntry(Sid)
{
    public override int Items => 1;
}

internal sealed record ToolCallEntry(ToolCall ToolCall) : JournalEntry(ToolCall.CallSid)
{
    public override int Items => 1;
}

/// <summary>
/// Not a write: a mark behind the call's entries, done when everything journaled for the call before it is stored
/// (or set aside). Readers that need the call whole (its post-call record) wait for it.
/// </summary>
internal sealed record WrittenMarkEntry(string Sid, TaskCompletionSource Done) : JournalEntry(Sid)
{
    public override int Items => 0;
}

internal static class JournalEntries
{
    /// <summary>Marks the <see cref="WrittenMarkEntry"/>s among <paramref name="entries"/> done: what came before them is stored.</summary>
    public static void Settle(IEnumerable<JournalEntry> entries)
    {
        foreach (var entry in entries)
        {
            if (entry is WrittenMarkEntry mark)
            {
                mark.Done.TrySetResult();
            }
        }
    }

    /// <summary>
    /// One call's entries, in the order they were made, as one write: for each key the last state wins (a message
    /// put then deleted is deleted; deleted then put is put), the call record is its latest change, or — when it was
    /// only created — its creation, which must not overwrite a stored call.
    /// </summary>
    public static CallWrites Coalesce(string callSid, IEnumerable<JournalEntry> entries)
    {
        Call? created = null;
        Call? changed = null;
        var messages = new SortedDictionary<int, IndexedMessage?>();
        var tools = new Dictionary<string, ToolCall>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            switch (entry)
            {
                case CallCreatedEntry e:
                    created = e.Call;
                    break;
                case CallChangedEntry e:
                    // A later copy of the live call (its session closing) never takes back an end recorded before it.
                    changed = changed is { IsEnded: true } earlier ? e.Call.WithEndOf(earlier) : e.Call;
                    break;
                case MessagesSavedEntry e:
                    foreach (var message in e.Messages)
                    {
                        messages[message.Index] = message;
                    }

                    break;
                case MessageRemovedEntry e:
                    messages[e.Index] = null;
                    break;
                case ToolCallEntry e:
                    tools[e.ToolCall.ToolUseId] = e.ToolCall;
                    break;
                case WrittenMarkEntry:
                    break;
                default:
                    throw new InvalidOperationException($"Unknown journal entry {entry.GetType().Name}.");
            }
        }

        if (created is not null && changed is not null)
        {
            // Created and changed in one write: the creation says who called and the use case (a callback that ended
            // the call before its creation was stored knew neither).
            changed = Call.Merge(created, changed);
        }

        var puts = new List<IndexedMessage>();
        var deletes = new List<int>();
        foreach (var (index, message) in messages)
        {
            if (message is null)
            {
                deletes.Add(index);
            }
            else
            {
                puts.Add(message);
            }
        }

        return new CallWrites(callSid)
        {
            Call = changed ?? created,
            CallIsNew = changed is null && created is not null,
            Messages = puts,
            DeletedMessages = deletes,
            ToolCalls = [.. tools.Values],
        };
    }
}
