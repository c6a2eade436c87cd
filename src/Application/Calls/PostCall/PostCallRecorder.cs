using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Conversations;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Calls.PostCall;

/// <summary>What one attempt at a call's post-call record did.</summary>
public enum PostCallResult
{
    Written,

    /// <summary>The call has a record already (a replayed end, another instance): nothing to do.</summary>
    AlreadyRecorded,

    /// <summary>The call is not stored as ended yet: try again later.</summary>
    NotYet,
}

/// <summary>
/// Writes one finished call's post-call record: outcome, figures, a short model summary and the use case's
/// structured extraction (asked for as a forced tool call, so it comes back as JSON of the schema's shape). Idempotent:
/// a call with a record is left alone, and the store writes a record only where there is none.
/// </summary>
internal sealed partial class PostCallRecorder(
    ICallRepository calls,
    IOrderRepository orders,
    ICallDirectory directory,
    ModelRound rounds,
    ICallJournal journal,
    TimeProvider timeProvider,
    ILogger<PostCallRecorder> logger)
{
    internal const string ExtractionTool = "record_call_details";

    private const string SummaryInstructions =
        "You write the record of a finished phone call between a caller and a voice agent. In two or three plain " +
        "sentences, say what the caller wanted, what was done, and anything left open. No greeting, no lists, no markdown.";

    private const string ExtractionInstructions =
        "You read the transcript of a finished phone call and record its details by calling the tool. Use only what " +
        "the transcript says; leave out what it does not say.";

    private static readonly TimeSpan ModelTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a record waits for this instance's queued writes of the call before it is tried again later.</summary>
    private static readonly TimeSpan JournalTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Records the call unless it has a record, is not over, or is not stored.</summary>
    /// <exception cref="Exception">The store or the model failed (the job retries).</exception>
    public async Task<PostCallResult> RecordAsync(string callSid, CancellationToken cancellationToken)
    {
        // The session-end callback can come before the call's last writes are stored (its last answer, the session's
        // close, still in this instance's write-behind journal): a record read before them would miss turns, tools and
        // orders, and it is written only once.
        if (!await journal.WaitWrittenAsync(callSid, JournalTimeout, timeProvider, cancellationToken).ConfigureAwait(false))
        {
            return PostCallResult.NotYet;
        }

        var call = await calls.GetAsync(callSid, cancellationToken).ConfigureAwait(false);
        if (call is null || !call.IsEnded)
        {
            // Its end may still be on its way through the journal.
            return PostCallResult.NotYet;
        }

        if (call.Record is not null)
        {
            return PostCallResult.AlreadyRecorded;
        }

        var messages = await calls.GetMessagesAsync(callSid, cancellationToken).ConfigureAwait(false);
        var toolCalls = await calls.GetToolCallsAsync(callSid, cancellationToken).ConfigureAwait(false);
        var placed = await orders.GetForCallAsync(callSid, cancellationToken).ConfigureAwait(false);
        var useCase = await directory.GetUseCaseAsync(call.UseCaseId, cancellationToken).ConfigureAwait(false);

        var turns = messages.Count(m => m.Role == ConversationRole.User && m.Content.Any(b => b is TextBlock));
        var outcome = Outcome(call, turns, placed.Count > 0, toolCalls.Any(t => t.Name == "end_call"));
        var transcript = Transcript(messages);
        var usage = call.Usage;
        var cost = call.CostUsd;
        string? summary = null;
        string? extraction = null;
        if (useCase is not null && turns > 0)
        {
            if (useCase.PostCall.Summary)
            {
                (summary, var summaryUsage, var summaryCost) = await AskAsync(useCase, call, SummaryInstructions, transcript, tool: null, cancellationToken).ConfigureAwait(false);
                (usage, cost) = (usage.Plus(summaryUsage), cost + summaryCost);
            }

            if (useCase.PostCall.ExtractionSchemaJson is { } schema)
            {
                var tool = new ToolSpec(ExtractionTool, "Records the details of the call.", schema);
                (extraction, var extractionUsage, var extractionCost) = await AskAsync(useCase, call, ExtractionInstructions, transcript, tool, cancellationToken).ConfigureAwait(false);
                (usage, cost) = (usage.Plus(extractionUsage), cost + extractionCost);
            }
        }

        var ended = call.EndedAt ?? timeProvider.GetUtcNow();
        var record = new CallRecord(
            outcome,
            summary,
            extraction,
            (int)Math.Max(0, (ended - (call.ConnectedAt ?? call.CreatedAt)).TotalSeconds),
            turns,
            messages.Count(m => m.Timings?.InterruptedMs is not null),
            usage.Input,
            usage.Output,
            cost,
            timeProvider.GetUtcNow());
        var written = await calls.SaveRecordAsync(callSid, record, cancellationToken).ConfigureAwait(false);
        Log.Recorded(logger, LogIds.Call(callSid), outcome, written);
        return written ? PostCallResult.Written : PostCallResult.AlreadyRecorded;
    }

    /// <summary>How the call ended, from what is stored: hand-off and failure first, then an order, then who ended it.</summary>
    public static string Outcome(Call call, int turns, bool orderPlaced, bool agentEnded)
    {
        ArgumentNullException.ThrowIfNull(call);
        return call.Status switch
        {
            CallStatus.HandedOff => CallOutcomes.HandedOff,
            CallStatus.Failed => CallOutcomes.Failed,
            _ when orderPlaced => CallOutcomes.OrderPlaced,
            _ when turns == 0 => CallOutcomes.Abandoned,
            _ when agentEnded => CallOutcomes.Resolved,
            _ => CallOutcomes.CallerHungUp,
        };
    }

    private static string Transcript(IReadOnlyList<ConversationMessage> messages)
    {
        var text = new StringBuilder();
        foreach (var message in messages)
        {
            if (message.Text is { Length: > 0 } said)
            {
                text.Append(message.Role == ConversationRole.User ? "Caller: " : "Agent: ").AppendLine(said);
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// One model call over the transcript: its text (a summary), or — with <paramref name="tool"/> — the input of the
    /// forced tool call, checked to be a JSON object. Null when the model gave nothing usable.
    /// </summary>
    private async Task<(string? Answer, TokenUsage Usage, decimal Cost)> AskAsync(
        UseCase useCase, Call call, string instructions, string transcript, ToolSpec? tool, CancellationToken cancellationToken)
    {
        var settings = useCase.Model.ForBackground(useCase.PostCall.Profile, maxTokens: tool is null ? 300 : 800, temperature: 0f, toolChoice: tool?.Name);
        var request = new ModelRequest(instructions, [new ConversationMessage(ConversationRole.User, [new TextBlock(transcript)])], tool is null ? [] : [tool], settings)
        {
            Metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["useCase"] = useCase.Id,
                ["call"] = ActiveCall.HashedCallSid(call.CallSid),
                ["purpose"] = tool is null ? "post-call-summary" : "post-call-extraction",
            },
        };
        using var deadline = new CancellationTokenSource(ModelTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var answer = await rounds.AskAsync(useCase.Id, request, linked.Token).ConfigureAwait(false);
        var usage = answer.Usage ?? TokenUsage.None;
        if (tool is null)
        {
            return (answer.Text.Length == 0 ? null : answer.Text.Trim(), usage, answer.Cost);
        }

        return (IsJsonObject(answer.ToolInput) ? answer.ToolInput : null, usage, answer.Cost);
    }

    private static bool IsJsonObject(string? json)
    {
        if (json is null)
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Call {CallSid}: post-call record {Outcome} (written: {Written})")]
        public static partial void Recorded(ILogger logger, string callSid, string outcome, bool written);
    }
}
