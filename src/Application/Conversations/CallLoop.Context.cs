using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// A long call keeps a bounded context: once the history sent verbatim passes the use case's budget
/// (model.contextBudgetChars), its older exchanges are folded into a running summary by a background model call
/// (model.summaryProfile, or the use case's own), off every turn's path. Requests then carry the summary after the
/// cacheable prompt and the latest exchanges verbatim, cut before a message the caller spoke — so a request starts
/// with the caller and no tool use is parted from its result. The stored transcript keeps everything.
/// </summary>
internal sealed partial class CallLoop
{
    private const string SummaryHeading = "\n\nEARLIER IN THIS CALL (summary)\n";
    private const string SummaryInstructions =
        "You keep notes of a phone call for the assistant who goes on with it. Summarise the conversation you are given " +
        "in at most 150 words of plain sentences: who the caller is, what they asked for, what was decided or done " +
        "(orders, bookings, numbers, names, dates and times exactly as said), and what is still open. No lists, no markdown.";

    private static readonly TimeSpan SummaryTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Messages before this index are folded into <see cref="_summary"/>.</summary>
    private int _foldedUpTo;
    private string? _summary;

    /// <summary>The prompt with <see cref="_summary"/>, made once per summary (see <see cref="PromptWithSummary"/>).</summary>
    private PromptedSummary? _prompted;
    private bool _folding;
    private List<(ConversationMessage? Message, int Size)>? _sizes;

    /// <summary>
    /// A call resumed here with its history goes on from the summary its last instance kept, when that still fits the
    /// history read back (it ends before a caller message); otherwise the history is sent verbatim and folded again.
    /// </summary>
    private void ResumeFold()
    {
        if (_call.Call.Fold is not { } fold)
        {
            return;
        }

        var messages = Conversation.Messages;
        if (fold.FoldedMessages < messages.Count && ContextWindow.IsCallerMessage(messages[fold.FoldedMessages]))
        {
            _summary = fold.Summary;
            _foldedUpTo = fold.FoldedMessages;
        }
        else
        {
            Log.FoldNotResumed(Logger, _call.LogId, fold.FoldedMessages, messages.Count);
        }
    }

    /// <summary>The history the model is sent: what has not been folded into the summary.</summary>
    private IReadOnlyList<ConversationMessage> Verbatim()
    {
        return Conversation.Snapshot(_foldedUpTo);
    }

    /// <summary>After a turn: when the verbatim history is past the budget, its older part is folded in the background.</summary>
    private void FoldIfOverBudget()
    {
        var budget = _call.UseCase.Model.ContextBudgetChars;
        if (budget <= 0 || _folding || _ended || _handedOver)
        {
            return;
        }

        var messages = Conversation.Messages;
        var size = 0;
        for (var i = _foldedUpTo; i < messages.Count; i++)
        {
            size += SizeAt(messages, i);
        }

        if (size <= budget)
        {
            return;
        }

        // Keep about half the budget verbatim, from a caller message on.
        var kept = 0;
        var cut = -1;
        for (var i = messages.Count - 1; i > _foldedUpTo; i--)
        {
            kept += SizeAt(messages, i);
            if (ContextWindow.IsCallerMessage(messages[i]))
            {
                cut = i;
                if (kept >= budget / 2)
                {
                    break;
                }
            }
        }

        if (cut <= _foldedUpTo)
        {
            return;
        }

        _folding = true;
        var from = _foldedUpTo;
        var transcript = Transcript(_summary, messages, from, cut);
        _ = SummariseAsync(from, cut, transcript);
    }

    private async Task SummariseAsync(int from, int cut, string transcript)
    {
        string? summary = null;
        TokenUsage? usage = null;
        var cost = 0m;
        try
        {
            await Task.Yield();
            var model = _call.UseCase.Model;
            var request = new ModelRequest(
                SummaryInstructions,
                [new ConversationMessage(ConversationRole.User, [new TextBlock(transcript)])],
                [],
                model.ForBackground(model.SummaryProfile, maxTokens: 400, temperature: 0.2f))
            {
                Metadata = _call.RequestMetadata,
            };
            // The deadline runs on the call's clock, as the loop's other timers do.
            using var deadline = new CancellationTokenSource(SummaryTimeout, _services.Time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_call.SessionToken, deadline.Token);
            var answer = await _services.Rounds.AskAsync(_call.UseCase.Id, request, timeout.Token).ConfigureAwait(false);
            (usage, cost) = (answer.Usage, answer.Cost);
            summary = answer.Text.Trim();
        }
        catch (Exception ex) when (!_call.SessionToken.IsCancellationRequested)
        {
            Log.SummaryFailed(Logger, ex, _call.LogId);
        }
        catch (OperationCanceledException)
        {
            // The call ended meanwhile.
        }

        Post(new CallInput.Summarized(from, cut, summary, usage, cost));
    }

    private void OnSummarized(CallInput.Summarized summarized)
    {
        _folding = false;
        if (summarized.Usage is { } usage)
        {
            _call.Call.AddUsage(usage, summarized.Cost);
        }

        if (summarized.Summary is not { Length: > 0 } summary || summarized.From != _foldedUpTo || summarized.Cut > Conversation.Messages.Count)
        {
            return;
        }

        _summary = summary;
        _foldedUpTo = summarized.Cut;
        // Kept with the call, so an instance that takes the call over (drain hand-over) sends the same context.
        if (_call.Call.FoldContext(summary, summarized.Cut))
        {
            _services.Journal.CallChanged(_call.Call);
        }

        _services.Telemetry.ContextFolded(_call.UseCase.Id);
        Log.Folded(Logger, _call.LogId, summarized.Cut, Conversation.Messages.Count - summarized.Cut);
    }

    /// <summary>
    /// The size of message <paramref name="index"/>, measured once per message: the budget is checked after every turn,
    /// and measuring the whole history again each time cost a long call more with every turn.
    /// </summary>
    private int SizeAt(IReadOnlyList<ConversationMessage> messages, int index)
    {
        var sizes = _sizes ??= [];
        if (sizes.Count > messages.Count)
        {
            sizes.RemoveRange(messages.Count, sizes.Count - messages.Count);
        }

        while (sizes.Count <= index)
        {
            sizes.Add((null, 0));
        }

        var (message, size) = sizes[index];
        if (!ReferenceEquals(message, messages[index]))
        {
            size = Size(messages[index]);
            sizes[index] = (messages[index], size);
        }

        return size;
    }

    private static int Size(ConversationMessage message)
    {
        var size = 0;
        foreach (var block in message.Content)
        {
            size += block switch
            {
                TextBlock text => text.Text.Length,
                ToolUseBlock use => use.Name.Length + use.InputJson.Length,
                ToolResultBlock result => result.Content.Length,
                _ => 0,
            };
        }

        return size;
    }

    /// <summary>The summary so far and the messages to fold, as plain text for the note-taker.</summary>
    private static string Transcript(string? summary, IReadOnlyList<ConversationMessage> messages, int from, int cut)
    {
        var text = new StringBuilder();
        if (summary is not null)
        {
            text.Append("Summary of the call before this: ").AppendLine(summary).AppendLine();
        }

        for (var i = from; i < cut; i++)
        {
            var speaker = messages[i].Role == ConversationRole.User ? "Caller" : "Assistant";
            foreach (var block in messages[i].Content)
            {
                _ = block switch
                {
                    TextBlock t => text.Append(speaker).Append(": ").AppendLine(t.Text),
                    ToolUseBlock u => text.Append(CultureInfo.InvariantCulture, $"Assistant used the tool {u.Name} with {u.InputJson}").AppendLine(),
                    ToolResultBlock r => text.Append(CultureInfo.InvariantCulture, $"The tool answered ({r.Status}): {r.Content}").AppendLine(),
                    _ => text,
                };
            }
        }

        return text.ToString();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Call {CallSid}: its first {Folded} messages are folded into a summary; {Verbatim} are sent verbatim")]
        public static partial void Folded(ILogger logger, string callSid, int folded, int verbatim);

        [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Call {CallSid}: its stored summary stands for {Folded} messages, which does not fit the {Messages} read back; the history is sent verbatim")]
        public static partial void FoldNotResumed(ILogger logger, string callSid, int folded, int messages);

        [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Call {CallSid}: summarising the older history failed; it is sent verbatim until the next try")]
        public static partial void SummaryFailed(ILogger logger, Exception exception, string callSid);
    }
}
