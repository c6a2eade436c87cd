using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Tools.InvokeTool;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

/// <summary>Runs turns off the receive loop.</summary>
public interface ITurnRunner
{
    /// <summary>
    /// Starts <paramref name="turn"/> in the background and returns at once. With <paramref name="fixedReply"/>
    /// the reply is spoken instead of asking the model; with <paramref name="endCall"/> the call ends after it.
    /// </summary>
    void Start(ActiveCall call, TurnHandle turn, TurnHandle? previous, string? fixedReply = null, bool endCall = false);

    /// <summary>Waits for the caller: after the use case's silence timeout, reprompt once, then say goodbye and end.</summary>
    void AwaitCaller(ActiveCall call);
}

/// <summary>
/// One caller turn: wait for the superseded turn to let go, record what the caller said, stream the model's
/// answer token by token to the caller, run tool rounds, and record what the caller actually heard —
/// whether the turn completed, was interrupted, superseded, or failed.
/// </summary>
internal sealed partial class TurnRunner(
    ILanguageModel model,
    DeferredSender sender,
    ICallJournal journal,
    TimeProvider timeProvider,
    ConversationTelemetry telemetry,
    IOptions<ConversationOptions> options,
    ILogger<TurnRunner> logger) : ITurnRunner
{
    private const string CancelledToolResult = "Not completed: the caller interrupted before this tool finished.";
    private const string AbandonedToolResult = "Not completed: the answer failed before this tool finished.";
    private const string ToolLimitResult = "Not run: too many tool rounds in one answer.";

    public void Start(ActiveCall call, TurnHandle turn, TurnHandle? previous, string? fixedReply = null, bool endCall = false)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(turn);

        // Time-to-first-token counts from the prompt's arrival when the transport noted it, else from here.
        if (turn.StartedAt == 0)
        {
            turn.StartedAt = timeProvider.GetTimestamp();
        }

        turn.Completion = Task.Run(() => RunAsync(call, turn, previous, fixedReply, endCall), CancellationToken.None);
    }

    public void AwaitCaller(ActiveCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        call.AwaitCaller(timeProvider, () => OnSilence(call));
    }

    private void OnSilence(ActiveCall call)
    {
        var silence = call.UseCase.Silence;
        if (silence is null)
        {
            return;
        }

        if (call.CurrentTurn is { Completed: false })
        {
            // Still answering: the countdown starts again once the answer is done.
            AwaitCaller(call);
            return;
        }

        var count = call.CountSilence();
        Log.Silence(logger, call.LogId, count);
        var (turn, previous) = call.BeginTurn("(The caller said nothing.)");
        Start(call, turn, previous, count == 1 ? silence.RepromptLine : silence.GoodbyeLine, endCall: count > 1);
    }

    private async Task RunAsync(ActiveCall call, TurnHandle turn, TurnHandle? previous, string? fixedReply, bool endCall)
    {
        using var activity = ConversationTelemetry.Source.StartActivity("turn");
        activity?.SetTag("voiceagent.call_sid", call.CallSid);
        activity?.SetTag("voiceagent.turn_id", turn.Id);
        activity?.SetTag("voiceagent.use_case", call.UseCase.Id);
        var outcome = "completed";
        try
        {
            if (previous is not null)
            {
                await WaitForAsync(previous, turn).ConfigureAwait(false);
            }

            lock (call.Gate)
            {
                if (turn.IsCancelled || turn.InputTaken)
                {
                    return;
                }

                // Turns this one superseded that have not wound down are closed now, oldest first, so what the
                // caller heard of them is recorded before what the caller says next.
                CloseSuperseded(call, turn);
                var index = call.Conversation.AddUserText(turn.Input);
                turn.InputTaken = true;
                journal.SaveFrom(call, index);
            }

            if (fixedReply is not null)
            {
                await SayAsync(call, turn, fixedReply, last: true).ConfigureAwait(false);
                if (endCall)
                {
                    await call.Output.SendAsync(new EndRelay(null), null, call.SessionToken).ConfigureAwait(false);
                }

                return;
            }

            await AnswerAsync(call, turn).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (turn.IsCancelled)
        {
            outcome = "cancelled";
            Log.TurnCancelled(logger, call.LogId, turn.Id, turn.Heard is not null);
        }
        catch (Exception ex) when (turn.IsCancelled)
        {
            // Cancelled, then tripped over the turn that took over: nothing to say to the caller.
            outcome = "cancelled";
            Log.CancelledTurnFailed(logger, ex, call.LogId, turn.Id);
        }
        catch (Exception ex)
        {
            outcome = "failed";
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.GetType().Name);
            Log.TurnFailed(logger, ex, call.LogId, turn.Id);
            turn.Apology = call.UseCase.ApologyLine;
            await ApologiseAsync(call, Separated(turn.LastSpoken, turn.Apology)).ConfigureAwait(false);
        }
        finally
        {
            lock (call.Gate)
            {
                Close(call, turn);
            }

            turn.Dispose();
            activity?.SetTag("voiceagent.outcome", outcome);
            telemetry.TurnEnded(call.UseCase.Id, outcome);
            if (!endCall)
            {
                AwaitCaller(call);
            }
        }
    }

    private async Task AnswerAsync(ActiveCall call, TurnHandle turn)
    {
        var useCase = call.UseCase;
        for (var round = 0; ; round++)
        {
            ModelRequest request;
            lock (call.Gate)
            {
                request = new ModelRequest(call.SystemPrompt, [.. call.Conversation.Messages], call.Tools, useCase.Model);
            }

            List<ContentBlock>? toolUses = null;
            string? moderation = null;
            var filter = new SpeechFilter();
            turn.AtBoundary = true;
            using var llm = ConversationTelemetry.Source.StartActivity("llm");
            llm?.SetTag("voiceagent.round", round);
            await foreach (var streamEvent in model.StreamAsync(request, turn.Token).ConfigureAwait(false))
            {
                switch (streamEvent)
                {
                    case TextDelta { Text.Length: > 0 } delta:
                        await SayAsync(call, turn, filter.Feed(delta.Text), last: false).ConfigureAwait(false);
                        break;
                    case ToolUseRequested use:
                        (toolUses ??= []).Add(new ToolUseBlock(use.ToolUseId, use.Name, use.InputJson));
                        break;
                    case ModelCompleted completed:
                        llm?.SetTag("gen_ai.response.finish_reason", completed.StopReason.ToString());
                        llm?.SetTag("gen_ai.usage.input_tokens", completed.Usage?.InputTokens);
                        llm?.SetTag("gen_ai.usage.output_tokens", completed.Usage?.OutputTokens);
                        if (completed.StopReason is ModelStopReason.GuardrailIntervened or ModelStopReason.ContentFiltered)
                        {
                            moderation = completed.StopReason == ModelStopReason.GuardrailIntervened ? "guardrail_intervened" : "content_filtered";
                        }

                        if (completed.StopReason is not (ModelStopReason.EndTurn or ModelStopReason.ToolUse))
                        {
                            Log.ModelStopped(logger, call.LogId, turn.Id, completed.StopReason);
                        }

                        break;
                }
            }

            llm?.Dispose();

            await SayAsync(call, turn, filter.Flush(), last: false).ConfigureAwait(false);
            turn.Token.ThrowIfCancellationRequested();
            if (moderation is not null)
            {
                // A content guardrail stopped the answer: the caller hears the use case's line, no tool runs, and the
                // turn records why.
                turn.Moderation = moderation;
                turn.AtBoundary = true;
                await SayAsync(call, turn, useCase.GuardrailLine, last: false).ConfigureAwait(false);
                await SayAsync(call, turn, string.Empty, last: true).ConfigureAwait(false);
                return;
            }

            if (toolUses is null)
            {
                await SayAsync(call, turn, string.Empty, last: true).ConfigureAwait(false);
                return;
            }

            // The text before the tool uses was spoken; it and the uses form one assistant message.
            lock (call.Gate)
            {
                ThrowIfClosed(turn);
                List<ContentBlock> content = TakeSpoken(turn) is { } spoken ? [new TextBlock(spoken), .. toolUses] : toolUses;
                journal.SaveFrom(call, call.Conversation.AddAssistant(content));
            }

            if (round >= useCase.Model.MaxToolRounds)
            {
                Log.ToolRoundsExceeded(logger, call.LogId, turn.Id, useCase.Model.MaxToolRounds);
                lock (call.Gate)
                {
                    AnswerPendingToolUses(call, ToolLimitResult);
                }

                throw new InvalidOperationException($"More than {useCase.Model.MaxToolRounds} tool rounds in one answer.");
            }

            var (results, endsTurn) = await InvokeToolsAsync(call, turn, toolUses).ConfigureAwait(false);
            lock (call.Gate)
            {
                ThrowIfClosed(turn);

                // The tool uses and their results are written in one transaction.
                journal.SaveFrom(call, call.Conversation.AddToolResults(results) - 1);
            }

            if (endsTurn)
            {
                // The call was ended or handed off: nothing more to ask the model.
                return;
            }

            turn.Token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Hands text to the caller and notes it as spoken; refused once the turn was closed by the next one.
    /// Empty text is sent only as the end-of-answer marker.
    /// </summary>
    private static ValueTask SayAsync(ActiveCall call, TurnHandle turn, string text, bool last)
    {
        if (text.Length == 0 && !last)
        {
            return ValueTask.CompletedTask;
        }

        lock (call.Gate)
        {
            ThrowIfClosed(turn);
            if (text.Length > 0)
            {
                text = turn.AtBoundary ? Separated(turn.LastSpoken, text) : text;
                turn.AtBoundary = false;
                turn.LastSpoken = text[^1];
            }

            turn.Spoken.Append(text);
        }

        return call.Output.SendAsync(new SpeakText(text, last), turn, turn.Token);
    }

    /// <summary><paramref name="text"/>, after a space when it would otherwise run into what was said before.</summary>
    private static string Separated(char before, string text) =>
        before != '\0' && !char.IsWhiteSpace(before) && !char.IsWhiteSpace(text[0]) ? " " + text : text;

    /// <summary>What the turn has spoken and not yet recorded, trimmed; null when nothing.</summary>
    private static string? TakeSpoken(TurnHandle turn)
    {
        var spoken = turn.Spoken.ToString().Trim();
        turn.Spoken.Clear();
        return spoken.Length > 0 ? spoken : null;
    }

    /// <summary>When the tools are slow, the caller hears a short filler line, once per turn.</summary>
    private async Task FillWhileWaitingAsync(ActiveCall call, TurnHandle turn, Task tools)
    {
        var after = options.Value.FillerAfter;
        if (tools.IsCompleted || after <= TimeSpan.Zero || turn.FillerSpoken)
        {
            return;
        }

        var delay = Task.Delay(after, timeProvider, turn.Token);
        if (await Task.WhenAny(tools, delay).ConfigureAwait(false) != delay || !delay.IsCompletedSuccessfully || tools.IsCompleted)
        {
            return;
        }

        turn.FillerSpoken = true;
        turn.AtBoundary = true;
        await SayAsync(call, turn, call.NextFillerLine() + " ", last: false).ConfigureAwait(false);
    }

    private static void ThrowIfClosed(TurnHandle turn)
    {
        if (turn.Completed)
        {
            throw new OperationCanceledException("The turn was closed by the turn that superseded it.", turn.Token);
        }
    }

    /// <summary>
    /// Runs the tool uses in parallel. Every use gets a result, even when the caller interrupts: tools that
    /// were cancelled answer with an error, tools with side effects run to completion and keep their result.
    /// </summary>
    private async Task<(ToolResultBlock[] Results, bool EndsTurn)> InvokeToolsAsync(ActiveCall call, TurnHandle turn, List<ContentBlock> toolUses)
    {
        var tasks = new Task<ToolInvocation>[toolUses.Count];
        for (var i = 0; i < toolUses.Count; i++)
        {
            var use = (ToolUseBlock)toolUses[i];
            tasks[i] = sender.Value.Send(new InvokeTool(call, use), turn.Token).AsTask();
        }

        await FillWhileWaitingAsync(call, turn, Task.WhenAll(tasks)).ConfigureAwait(false);
        var results = new ToolResultBlock[tasks.Length];
        var endsTurn = false;
        for (var i = 0; i < tasks.Length; i++)
        {
            try
            {
                var invocation = await tasks[i].ConfigureAwait(false);
                results[i] = invocation.Result;
                endsTurn |= invocation.EndsTurn;
            }
            catch (OperationCanceledException)
            {
                results[i] = new ToolResultBlock(((ToolUseBlock)toolUses[i]).ToolUseId, CancelledToolResult, ToolResultStatus.Error);
            }
        }

        return (results, endsTurn);
    }

    private async Task ApologiseAsync(ActiveCall call, string apology)
    {
        try
        {
            await call.Output.SendAsync(new SpeakText(apology, Last: true), null, call.SessionToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
        {
            Log.ApologyNotSent(logger, call.LogId);
        }
    }

    private async Task WaitForAsync(TurnHandle previous, TurnHandle turn)
    {
        try
        {
            await previous.Completion.WaitAsync(options.Value.SupersedeWait, turn.Token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.SupersedeTimedOut(logger, previous.Id, turn.Id);
        }
    }

    /// <summary>Closes every still-open turn <paramref name="turn"/> superseded, oldest first. Under the gate.</summary>
    private void CloseSuperseded(ActiveCall call, TurnHandle turn)
    {
        var open = new Stack<TurnHandle>();
        for (var previous = turn.Previous; previous is { Completed: false }; previous = previous.Previous)
        {
            open.Push(previous);
        }

        while (open.TryPop(out var previous))
        {
            Close(call, previous);
        }
    }

    /// <summary>
    /// Leaves the conversation valid and true to what the caller heard of <paramref name="turn"/>, however it
    /// ended: open tool uses answered, spoken text (and any apology) recorded, a barge-in applied. Idempotent;
    /// under the gate.
    /// </summary>
    private void Close(ActiveCall call, TurnHandle turn)
    {
        if (turn.Completed)
        {
            return;
        }

        CloseSuperseded(call, turn);
        turn.Completed = true;
        var conversation = call.Conversation;
        var firstChanged = conversation.Messages.Count;
        AnswerPendingToolUses(call, turn.IsCancelled ? CancelledToolResult : AbandonedToolResult);

        if (turn.Apology is not null)
        {
            turn.Spoken.Append(' ').Append(turn.Apology);
        }

        if (TakeSpoken(turn) is { } spoken && conversation.Last is { Role: ConversationRole.User })
        {
            conversation.AddAssistant([new TextBlock(spoken)], turn.Moderation);
        }
        journal.SaveFrom(call, firstChanged);
        if (turn.Heard is not null)
        {
            journal.SaveTruncation(call, conversation.TruncateLastAssistant(turn.Heard));
        }
    }

    /// <summary>Answers every open tool use with an error. Under the gate.</summary>
    private void AnswerPendingToolUses(ActiveCall call, string reason)
    {
        var pending = call.Conversation.PendingToolUses;
        if (pending.Count == 0)
        {
            return;
        }

        var results = new ToolResultBlock[pending.Count];
        for (var i = 0; i < pending.Count; i++)
        {
            results[i] = new ToolResultBlock(pending[i].ToolUseId, reason, ToolResultStatus.Error);
        }

        journal.SaveFrom(call, call.Conversation.AddToolResults(results) - 1);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Call {CallSid} turn {TurnId} cancelled (barge-in: {BargeIn})")]
        public static partial void TurnCancelled(ILogger logger, string callSid, long turnId, bool bargeIn);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Call {CallSid} turn {TurnId} failed; the caller hears the apology line")]
        public static partial void TurnFailed(ILogger logger, Exception exception, string callSid, long turnId);

        [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Call {CallSid}: the caller has been silent ({Count} in a row)")]
        public static partial void Silence(ILogger logger, string callSid, int count);

        [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, Message = "Call {CallSid} turn {TurnId} failed after it was cancelled")]
        public static partial void CancelledTurnFailed(ILogger logger, Exception exception, string callSid, long turnId);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Call {CallSid} turn {TurnId}: model stopped with {StopReason}")]
        public static partial void ModelStopped(ILogger logger, string callSid, long turnId, ModelStopReason stopReason);

        [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Call {CallSid} turn {TurnId} exceeded {MaxRounds} tool rounds")]
        public static partial void ToolRoundsExceeded(ILogger logger, string callSid, long turnId, int maxRounds);

        [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Call {CallSid}: the apology could not be sent (session closing)")]
        public static partial void ApologyNotSent(ILogger logger, string callSid);

        [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Turn {PreviousTurnId} did not wind down in time; turn {TurnId} goes ahead")]
        public static partial void SupersedeTimedOut(ILogger logger, long previousTurnId, long turnId);
    }
}
