using System.Diagnostics;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// Turns: asked for in one place, started with the caller's input in the conversation, their work launched off the
/// loop, their reports turned into the next round or the end, and closed with what the caller heard.
/// </summary>
internal sealed partial class CallLoop
{
    private const string AbandonedToolResult = "Not completed: the answer failed before this tool finished.";
    private const string ToolLimitResult = "Not run: too many tool rounds in one answer.";

    private PendingTurn? _pending;
    private ITimer? _closeWait;
    private long _nextTurnId;

    /// <summary>When the latest turn's prompt arrived: a barge-in on its answer after it closed is timed from it.</summary>
    private long _lastTurnStartedAt;

    /// <summary>Twilio's info and error frames that came while no turn ran; the next turn records them.</summary>
    private List<string>? _relayEventsBetweenTurns;

    /// <summary>
    /// The one place a turn is asked for: starts it now, or — while another runs — cancels that one and starts
    /// this when it has been closed, joined with any other input that arrives meanwhile (redacted again: a number
    /// read out over two utterances may only be whole once they are joined).
    /// </summary>
    private void Begin(PendingTurn next)
    {
        if (_ended || _handedOver)
        {
            return;
        }

        if (Running is { } running)
        {
            _pending = _pending is { } waiting ? next with { Input = _call.UseCase.Redactor.Redact(Utterance.Join(waiting.Input, next.Input, _call.MaxUtteranceChars)) } : next;
            Stop(running);
            return;
        }

        StartTurn(next);
    }

    private void StartTurn(PendingTurn next)
    {
        // The silence countdown starts again once the answer is done.
        StopSilenceTimer();
        var time = _services.Time;
        var turn = new TurnHandle(++_nextTurnId, next.Input, _call.SessionToken)
        {
            StartedAt = next.ReceivedAt != 0 ? next.ReceivedAt : time.GetTimestamp(),
            EndsCall = next.EndsCall,
            Activity = StartTurnActivity(),
        };
        turn.Activity?.SetTag("voiceagent.call_sid", _call.CallSid);
        turn.Activity?.SetTag("voiceagent.turn_id", turn.Id);
        turn.Activity?.SetTag("voiceagent.use_case", _call.UseCase.Id);
        Running = turn;
        _lastTurnStartedAt = turn.StartedAt;
        foreach (var relayEvent in _relayEventsBetweenTurns ?? [])
        {
            turn.Clock.RelayEvent(relayEvent);
        }

        _relayEventsBetweenTurns = null;
        if (next.Held is { } held)
        {
            // The preemptive answer's model call is this turn's first: it went out before the prompt arrived.
            turn.Clock.ModelRequested(held.StartedAt);
        }

        _services.Journal.SaveFrom(_call, Conversation.AddUserText(next.Input));

        if (next.FixedReply is { } reply)
        {
            Launch(turn, static (loop, turn, reply) => loop.SayLineAsync(turn, reply!), reply);
        }
        else
        {
            LaunchRound(turn, next.Held);
        }
    }

    /// <summary>The turn's span, which its model rounds and tools join; the loop's own context is left as it was.</summary>
    private static Activity? StartTurnActivity()
    {
        var current = Activity.Current;
        var activity = ConversationTelemetry.Source.StartActivity("turn");
        Activity.Current = current;
        return activity;
    }

    /// <summary>Starts a model round on the history; a confirmed preemptive answer is its first (already running) model call.</summary>
    private void LaunchRound(TurnHandle turn, HeldAnswer? held = null)
    {
        var request = Request(Verbatim());
        if (held is not null)
        {
            Launch(turn, static async (loop, turn, state) =>
                new CallInput.RoundStreamed(turn, await loop._services.Rounds.StreamAsync(loop._call, turn, state.Request, state.Held.ReleaseAsync(turn.Token)).ConfigureAwait(false)),
                (Request: request, Held: held));
            return;
        }

        Launch(turn, static async (loop, turn, request) =>
            new CallInput.RoundStreamed(turn, await loop._services.Rounds.StreamAsync(loop._call, turn, request!).ConfigureAwait(false)), request);
    }

    /// <summary>The model's request: the prompt (with the summary of what was folded, after the cacheable part) and <paramref name="messages"/>.</summary>
    private ModelRequest Request(IReadOnlyList<ConversationMessage> messages) =>
        new(PromptWithSummary(), messages, _call.Tools, _call.UseCase.Model)
        {
            StaticPromptLength = _call.StaticPromptLength,
            Metadata = _call.RequestMetadata,
            Encodings = _call.Encodings,
        };

    /// <summary>
    /// The prompt, with the summary once there is one: the same string every turn until the summary changes, so that
    /// a provider that keeps the prompt's encoding for the call (<see cref="MessageEncodings"/>) keeps using it.
    /// </summary>
    private string PromptWithSummary()
    {
        if (_summary is null)
        {
            return _call.SystemPrompt;
        }

        if (_prompted is not { } prompted || !ReferenceEquals(prompted.Summary, _summary))
        {
            _prompted = prompted = new PromptedSummary(_summary, _call.SystemPrompt + SummaryHeading + _summary);
        }

        return prompted.Prompt;
    }

    private sealed record PromptedSummary(string Summary, string Prompt);

    /// <summary>
    /// Starts the turn's next piece of work; it runs on until its first wait (the model's request going out) and
    /// then off the loop, and its outcome comes back as an input. No thread-pool hop, no closure: a turn costs the
    /// loop what the old runner cost the receive loop.
    /// </summary>
    private void Launch<TState>(TurnHandle turn, Func<CallLoop, TurnHandle, TState?, Task<CallInput>> work, TState? state)
    {
        turn.Working = true;
        _ = RunWorkAsync(turn, work, state);
    }

    private async Task RunWorkAsync<TState>(TurnHandle turn, Func<CallLoop, TurnHandle, TState?, Task<CallInput>> work, TState? state)
    {
        // Set here, it holds for the work's own awaits only (an async method restores its caller's context).
        Activity.Current = turn.Activity;
        CallInput outcome;
        try
        {
            outcome = await work(this, turn, state).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The work's own handling failed: the loop still hears of it and closes the turn.
            Log.WorkFailed(Logger, ex, _call.LogId, turn.Id);
            outcome = new CallInput.RoundStreamed(turn, RoundOutcome.Failure);
        }

        if (!Post(outcome))
        {
            turn.Dispose();
        }
    }

    private async Task<CallInput> SayLineAsync(TurnHandle turn, string line)
    {
        try
        {
            await turn.SayAsync(_call.Output, line, last: true).ConfigureAwait(false);
            if (turn.EndsCall)
            {
                await _call.Output.SendAsync(new EndRelay(null), null, _call.SessionToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (turn.IsCancelled)
        {
            // Interrupted while the line went out: the loop records what was heard.
        }

        return new CallInput.RoundStreamed(turn, RoundOutcome.Done);
    }

    private void OnRoundStreamed(TurnHandle turn, RoundOutcome outcome)
    {
        turn.Working = false;
        if (turn != Running)
        {
            // Closed already (it did not wind down in time): its late report changes nothing.
            turn.Dispose();
            return;
        }

        if (outcome.ToolUses is { } toolUses && !turn.IsCancelled)
        {
            // The model's reasoning, the text spoken before the tool uses, and the uses form one assistant message.
            List<ContentBlock> content = [.. outcome.Reasoning ?? []];
            if (turn.TakeSpoken() is { } spoken)
            {
                content.Add(new TextBlock(spoken));
            }

            content.AddRange(toolUses);
            _services.Journal.SaveFrom(_call, Conversation.AddAssistant(content, usage: TakeUsage(turn)));
            if (!outcome.Failed)
            {
                Launch(turn, static async (loop, turn, uses) =>
                {
                    var (results, endsTurn) = await loop._services.Tools.RunAsync(loop._call, turn, uses!).ConfigureAwait(false);
                    return new CallInput.ToolsInvoked(turn, results, endsTurn);
                }, toolUses);
                return;
            }

            AnswerPendingToolUses(ToolLimitResult);
        }

        Finish(turn, outcome.Failed);
    }

    private void OnToolsInvoked(TurnHandle turn, ToolResultBlock[] results, bool endsTurn)
    {
        turn.Working = false;
        if (turn != Running)
        {
            turn.Dispose();
            return;
        }

        // The tool uses and their results are written in one transaction.
        _services.Journal.SaveFrom(_call, Conversation.AddToolResults(results) - 1);
        if (turn.IsCancelled || endsTurn)
        {
            // Interrupted, or the call was ended or handed off: nothing more to ask the model.
            Finish(turn);
            return;
        }

        turn.Round++;
        LaunchRound(turn);
    }

    /// <summary>Cancels <paramref name="turn"/>, giving it Conversation:SupersedeWait to wind down before the loop closes it.</summary>
    private void Stop(TurnHandle turn)
    {
        if (_closeWait is not null)
        {
            return;
        }

        turn.Cancel();
        _closeWait = PostAfter(_services.Options.SupersedeWait, new CallInput.CloseWaitElapsed(turn));
    }

    private void OnCloseWaitElapsed(TurnHandle turn)
    {
        if (turn == Running)
        {
            Log.SupersedeTimedOut(Logger, _call.LogId, turn.Id);
            Finish(turn);
        }
    }

    /// <summary>
    /// Closes <paramref name="turn"/> with what the caller heard, then starts what waited for it. Its outcome is
    /// cancelled when it was (a barge-in, a newer input, the session's end), else failed or completed.
    /// </summary>
    private void Finish(TurnHandle turn, bool failed = false)
    {
        Close(turn);
        Running = null;
        _closeWait?.Dispose();
        _closeWait = null;
        var outcome = turn.IsCancelled ? "cancelled" : failed ? "failed" : "completed";
        if (turn.IsCancelled)
        {
            Log.TurnCancelled(Logger, _call.LogId, turn.Id, turn.Heard is not null);
        }

        turn.Activity?.SetTag("voiceagent.outcome", outcome);
        turn.Activity?.Dispose();
        _services.Telemetry.TurnEnded(_call.UseCase.Id, outcome);
        if (!turn.Working)
        {
            turn.Dispose();
        }

        FoldIfOverBudget();
        if (_pending is { } next && !_ended && !_handedOver)
        {
            _pending = null;
            StartTurn(next);
        }
        else if (!turn.EndsCall)
        {
            AwaitCaller();
        }
    }

    /// <summary>
    /// Leaves the conversation valid and true to what the caller heard of <paramref name="turn"/>, however it
    /// ended: open tool uses answered, spoken text (and any apology) recorded, a barge-in applied.
    /// </summary>
    private void Close(TurnHandle turn)
    {
        // Answered tool uses are journaled with their uses; what follows them is journaled below.
        AnswerPendingToolUses(turn.IsCancelled ? ToolRound.CancelledResult : AbandonedToolResult);
        var firstChanged = Conversation.Messages.Count;
        var spoken = turn.Close();
        if (turn.Apology is not null)
        {
            spoken = spoken is null ? turn.Apology : spoken + " " + turn.Apology;
        }

        var usage = TakeUsage(turn);
        // Whether the last frame is out is read with the timings: read after them, a frame written in between left the
        // answer stored without its text timings and the transport's late report ignored.
        var timings = turn.Clock.ToTimings(turn.StartedAt, _services.Time, out var answerWritten);
        if (spoken is not null && Conversation.Last is { Role: ConversationRole.User })
        {
            turn.AnswerIndex = Conversation.AddAssistant([new TextBlock(spoken)], turn.Moderation, usage, timings);
        }

        if (turn.AnswerIndex is null || turn.IsCancelled || answerWritten)
        {
            // No answer frame will follow (or the last one is out already): the timings are final now, and the answer
            // is stored with them once.
            RecordTimings(turn, timings);
        }

        _services.Journal.SaveFrom(_call, firstChanged);
        if (turn.Heard is not null)
        {
            _services.Journal.SaveTruncation(_call, Conversation.TruncateLastAssistant(turn.Heard));
        }
    }

    /// <summary>
    /// The transport wrote <paramref name="turn"/>'s last text frame after the loop closed it: its answer's timings are
    /// completed with the text frames, and stored with it again (the journal folds the two writes into one when they
    /// come within its linger). A last frame written before the close needs nothing here: the close had it.
    /// </summary>
    private void OnTurnSpoken(TurnHandle turn)
    {
        if (turn.AnswerIndex is not { } index || turn.TimingsRecorded || index >= Conversation.Messages.Count
            || Conversation.Messages[index] is not { Role: ConversationRole.Assistant, Timings: { } earlier })
        {
            return;
        }

        var timings = turn.Clock.ToTimings(turn.StartedAt, _services.Time);
        timings = timings with { InterruptedMs = earlier.InterruptedMs ?? timings.InterruptedMs };
        Conversation.ReplaceTimings(index, timings);
        _services.Journal.SaveFrom(_call, index);
        RecordTimings(turn, timings);
    }

    /// <summary>A turn's final timings: metrics, its span, and the call's latency percentiles.</summary>
    private void RecordTimings(TurnHandle turn, TurnTimings timings)
    {
        turn.TimingsRecorded = true;
        _services.Telemetry.TurnTimed(_call.UseCase.Id, timings);
        TagTimings(turn.Activity, timings);
        if (timings.FirstTextMs is { } firstText)
        {
            _call.Call.RecordFirstText(firstText);
        }
    }

    /// <summary>The turn's stages on its span (its model rounds and tools are child spans), Twilio's frames as span events.</summary>
    private static void TagTimings(Activity? activity, TurnTimings timings)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("voiceagent.turn.model_request_ms", timings.ModelRequestMs);
        activity.SetTag("voiceagent.turn.first_model_token_ms", timings.FirstModelTokenMs);
        activity.SetTag("voiceagent.turn.first_text_ms", timings.FirstTextMs);
        activity.SetTag("voiceagent.turn.last_text_ms", timings.LastTextMs);
        activity.SetTag("voiceagent.turn.interrupted_ms", timings.InterruptedMs);
        activity.SetTag("voiceagent.turn.tool_ms", timings.ToolMs);
        activity.SetTag("voiceagent.turn.fallbacks", timings.Fallbacks);
        activity.SetTag("gen_ai.response.model", timings.Profile);
        foreach (var relayEvent in timings.RelayEvents)
        {
            activity.AddEvent(new ActivityEvent("twilio." + relayEvent[..relayEvent.IndexOf(':', StringComparison.Ordinal)]));
        }
    }

    /// <summary>
    /// The turn's model usage not yet recorded, added to the call's totals (written with the call's record when it
    /// next changes, at the latest when it ends: no extra write a turn); the message it goes on records it too.
    /// </summary>
    private TokenUsage? TakeUsage(TurnHandle turn)
    {
        var (usage, cost) = turn.TakeUsage();
        if (usage is { } taken)
        {
            _call.Call.AddUsage(taken, cost);
        }

        return usage;
    }

    /// <summary>Answers every open tool use with an error.</summary>
    private void AnswerPendingToolUses(string reason)
    {
        var pending = Conversation.PendingToolUses;
        if (pending.Count == 0)
        {
            return;
        }

        var results = new ToolResultBlock[pending.Count];
        for (var i = 0; i < pending.Count; i++)
        {
            results[i] = new ToolResultBlock(pending[i].ToolUseId, reason, ToolResultStatus.Error);
        }

        _services.Journal.SaveFrom(_call, Conversation.AddToolResults(results) - 1);
    }

    /// <summary>What a turn waiting for the running one to close will start with.</summary>
    private sealed record PendingTurn(string Input, string? FixedReply = null, bool EndsCall = false, long ReceivedAt = 0, HeldAnswer? Held = null);
}
