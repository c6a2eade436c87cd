using VoiceAgent.Domain.Common;

namespace VoiceAgent.Domain.Conversations;

/// <summary>
/// The history of one call as the model sees it. Invariants, enforced on every change:
/// the first message is the caller's; roles alternate; every tool use of an assistant message is answered,
/// in the next (user) message, by exactly one tool result; text blocks are never empty.
/// The class is not thread-safe: the owning call serialises access.
/// </summary>
public sealed class Conversation
{
    /// <summary>
    /// The messages: the first <see cref="_count"/> of <see cref="_items"/>. Copied on write: the first
    /// <see cref="_shared"/> belong to snapshots handed out as well, so a change among them moves the messages to a new
    /// array first, and the snapshots keep reading the old one.
    /// </summary>
    private ConversationMessage[] _items = [];
    private int _count;
    private int _shared;

    public Conversation() => Messages = new LiveMessages(this);

    /// <summary>The messages as they are now: a view that follows every change.</summary>
    public IReadOnlyList<ConversationMessage> Messages { get; }

    public ConversationMessage? Last => _count == 0 ? null : _items[_count - 1];

    /// <summary>
    /// The messages from <paramref name="from"/> on, as they are now, for a model request that outlives later changes:
    /// no copy is made unless one of them changes afterwards (it rarely does: a turn appends), and then once.
    /// </summary>
    public IReadOnlyList<ConversationMessage> Snapshot(int from = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(from, _count);
        _shared = Math.Max(_shared, _count);
        return new MessageSlice(_items, from, _count - from);
    }

    /// <summary>Tool uses of the last assistant message that still wait for their results.</summary>
    public IReadOnlyList<ToolUseBlock> PendingToolUses =>
        Last is { Role: ConversationRole.Assistant } last ? last.ToolUses.ToList() : [];

    /// <summary>Rebuilds a conversation from stored messages, checking every invariant.</summary>
    public static Conversation Restore(IEnumerable<ConversationMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var conversation = new Conversation();
        foreach (var message in messages)
        {
            if (message.Role == ConversationRole.Assistant)
            {
                conversation.AddAssistant(message.Content, message.Moderation);
            }
            else
            {
                conversation.AppendUser(message.Content);
            }
        }

        return conversation;
    }

    /// <summary>
    /// Adds what the caller said. When the last message is already the caller's (the answer to it was never
    /// heard, or it carries tool results) the text joins that message, so roles keep alternating.
    /// </summary>
    /// <returns>The index of the message that changed or was added.</returns>
    public int AddUserText(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new DomainException("Caller text must not be empty.");
        }

        if (PendingToolUses.Count > 0)
        {
            throw new DomainException("The last assistant message has tool uses without results; add the results first.");
        }

        var block = new TextBlock(text);
        if (Last is { Role: ConversationRole.User } last)
        {
            Set(_count - 1, new ConversationMessage(ConversationRole.User, [.. last.Content, block]));
            return _count - 1;
        }

        return Add(new ConversationMessage(ConversationRole.User, [block]));
    }

    /// <summary>Adds the model's answer: text and/or tool uses, following a caller message.</summary>
    /// <returns>The index of the added message.</returns>
    public int AddAssistant(IReadOnlyList<ContentBlock> content, string? moderation = null, TokenUsage? usage = null, TurnTimings? timings = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (Last is not { Role: ConversationRole.User })
        {
            throw new DomainException("An assistant message must follow a caller message.");
        }

        if (content.Count == 0)
        {
            throw new DomainException("An assistant message needs at least one block.");
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var block in content)
        {
            switch (block)
            {
                case TextBlock text when string.IsNullOrEmpty(text.Text):
                    throw new DomainException("Text blocks must not be empty.");
                case TextBlock:
                    break;
                case ToolUseBlock use when string.IsNullOrWhiteSpace(use.ToolUseId) || string.IsNullOrWhiteSpace(use.Name):
                    throw new DomainException("A tool use needs an id and a name.");
                case ToolUseBlock use when !ids.Add(use.ToolUseId):
                    throw new DomainException($"Tool use id '{use.ToolUseId}' appears twice in one message.");
                case ToolUseBlock:
                    break;
                case ReasoningBlock reasoning when string.IsNullOrEmpty(reasoning.Text) && string.IsNullOrEmpty(reasoning.RedactedContent):
                    throw new DomainException("A reasoning block needs its text or its redacted content.");
                case ReasoningBlock:
                    break;
                default:
                    throw new DomainException($"An assistant message cannot hold a {block.GetType().Name}.");
            }
        }

        // A copy the caller cannot change; one object for the usual one-block answer (a copied list is two).
        IReadOnlyList<ContentBlock> kept = content.Count == 1 ? [content[0]] : [.. content];
        return Add(new ConversationMessage(ConversationRole.Assistant, kept) { Moderation = moderation, Usage = usage, Timings = timings });
    }

    /// <summary>Answers every pending tool use of the last assistant message, in one caller-side message.</summary>
    /// <returns>The index of the added message.</returns>
    public int AddToolResults(IReadOnlyList<ToolResultBlock> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var pending = PendingToolUses;
        if (pending.Count == 0)
        {
            throw new DomainException("There is no tool use waiting for a result.");
        }

        var expected = pending.Select(static p => p.ToolUseId).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var result in results)
        {
            if (!expected.Contains(result.ToolUseId))
            {
                throw new DomainException($"Tool result '{result.ToolUseId}' answers no pending tool use.");
            }

            if (!seen.Add(result.ToolUseId))
            {
                throw new DomainException($"Tool use '{result.ToolUseId}' has more than one result.");
            }
        }

        if (seen.Count != expected.Count)
        {
            var missing = string.Join(", ", expected.Where(id => !seen.Contains(id)));
            throw new DomainException($"Every tool use needs a result; missing: {missing}.");
        }

        return Add(new ConversationMessage(ConversationRole.User, [.. results]));
    }

    /// <summary>Sets the timings of the assistant message at <paramref name="index"/> (its text frames were written after it was added).</summary>
    public void ReplaceTimings(int index, TurnTimings timings)
    {
        if (index < 0 || index >= _count || _items[index].Role != ConversationRole.Assistant)
        {
            throw new DomainException($"Message {index} is not an assistant message.");
        }

        Set(index, _items[index] with { Timings = timings });
    }

    /// <summary>
    /// Cuts the text of the last assistant message down to what the caller actually heard before barging in.
    /// Tool uses in that message stay (they ran, or were answered). When nothing was heard and the message
    /// holds only text, the message is removed. <paramref name="interruptedMs"/>: when the barge-in came, from the
    /// turn's prompt, noted on the message's timings.
    /// </summary>
    public TruncationResult TruncateLastAssistant(string? heard, int? interruptedMs = null)
    {
        if (Last is not { Role: ConversationRole.Assistant } last)
        {
            return TruncationResult.None;
        }

        var index = _count - 1;
        var kept = HeardPart(last.Text, heard);
        var toolUses = last.ToolUses.ToList();
        if (kept.Length == 0 && toolUses.Count == 0)
        {
            RemoveLast();
            return new TruncationResult(index, Removed: true);
        }

        // Reasoning stays with the tool uses it led to: the model wants it back unchanged.
        List<ContentBlock> content = [.. last.Content.OfType<ReasoningBlock>()];
        if (kept.Length > 0)
        {
            content.Add(new TextBlock(kept));
        }

        content.AddRange(toolUses);
        Set(index, new ConversationMessage(ConversationRole.Assistant, content)
        {
            Moderation = last.Moderation,
            Usage = last.Usage,
            Timings = interruptedMs is { } ms && last.Timings is { } timings ? timings with { InterruptedMs = ms } : last.Timings,
        });
        return new TruncationResult(index, Removed: false);
    }

    /// <summary>
    /// The part of <paramref name="full"/> the caller heard. Twilio reports the heard utterance; when it is a
    /// prefix of what we sent (ignoring case and surrounding space) the original text is kept to that length,
    /// otherwise the heard text itself is what the caller knows.
    /// </summary>
    internal static string HeardPart(string full, string? heard)
    {
        var h = heard?.Trim() ?? string.Empty;
        if (h.Length == 0)
        {
            return string.Empty;
        }

        var f = full.TrimStart();
        return f.StartsWith(h, StringComparison.OrdinalIgnoreCase) ? f[..h.Length] : h;
    }

    private void AppendUser(IReadOnlyList<ContentBlock> content)
    {
        var results = content.OfType<ToolResultBlock>().ToList();
        if (results.Count > 0)
        {
            AddToolResults(results);
            foreach (var text in content.OfType<TextBlock>())
            {
                AddUserText(text.Text);
            }

            return;
        }

        foreach (var block in content)
        {
            if (block is not TextBlock text)
            {
                throw new DomainException($"A caller message cannot hold a {block.GetType().Name}.");
            }

            AddUserText(text.Text);
        }
    }

    private int Add(ConversationMessage message)
    {
        if (_count == _items.Length)
        {
            Reallocate(Math.Max(4, _items.Length * 2));
        }
        else if (_count < _shared)
        {
            // The slot was a message a snapshot still reads (the last one, removed after the snapshot).
            Reallocate(_items.Length);
        }

        _items[_count] = message;
        return _count++;
    }

    private void Set(int index, ConversationMessage message)
    {
        if (index < _shared)
        {
            Reallocate(_items.Length);
        }

        _items[index] = message;
    }

    private void RemoveLast()
    {
        _count--;
        if (_count >= _shared)
        {
            _items[_count] = null!;
        }
    }

    /// <summary>Moves the messages to a new array that no snapshot reads.</summary>
    private void Reallocate(int capacity)
    {
        var items = new ConversationMessage[capacity];
        Array.Copy(_items, items, _count);
        (_items, _shared) = (items, 0);
    }

    /// <summary>A range of an array of messages, read through a list; where the range comes from is the subclass's.</summary>
    private abstract class MessageView : IReadOnlyList<ConversationMessage>
    {
        public abstract int Count { get; }

        protected abstract ConversationMessage[] Items { get; }

        protected abstract int Start { get; }

        public ConversationMessage this[int index] =>
            (uint)index < (uint)Count ? Items[Start + index] : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<ConversationMessage> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>The conversation's messages as they are whenever read.</summary>
    private sealed class LiveMessages(Conversation conversation) : MessageView
    {
        public override int Count => conversation._count;

        protected override ConversationMessage[] Items => conversation._items;

        protected override int Start => 0;
    }

    /// <summary>Messages at a moment: a range of an array that is not written in that range any more.</summary>
    private sealed class MessageSlice(ConversationMessage[] items, int start, int count) : MessageView
    {
        public override int Count => count;

        protected override ConversationMessage[] Items => items;

        protected override int Start => start;
    }
}

/// <summary>What <see cref="Conversation.TruncateLastAssistant"/> changed.</summary>
public readonly record struct TruncationResult(int Index, bool Removed)
{
    public static TruncationResult None { get; } = new(-1, false);

    public bool Changed => Index >= 0;
}
