using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Tools;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

/// <summary>What the call loops of this instance share.</summary>
internal sealed class CallLoopServices(
    ModelRound rounds,
    ToolRound tools,
    ToolInvoker invoker,
    ICallJournal journal,
    TimeProvider time,
    ConversationTelemetry telemetry,
    IOptions<ConversationOptions> options,
    ILogger<CallLoop> logger)
{
    public ModelRound Rounds { get; } = rounds;

    public ToolRound Tools { get; } = tools;

    public ToolInvoker Invoker { get; } = invoker;

    public ICallJournal Journal { get; } = journal;

    public TimeProvider Time { get; } = time;

    public ConversationTelemetry Telemetry { get; } = telemetry;

    public ConversationOptions Options => options.Value;

    public ILogger Logger { get; } = logger;
}

/// <summary>
/// One call's event loop: the single reader of the call's channel and the only code that changes its conversation
/// and starts, cancels or closes its turns. Every input — prompts, interrupts, key presses, timers, the turn's work
/// reporting back, the hand-over, the session's end — arrives as a <see cref="CallInput"/>. The loop never waits
/// for the model, a tool or the socket: that work runs off the loop and posts its outcome back.
/// <para>
/// A turn is one answer: the caller's input goes into the conversation when it starts; model rounds and tool
/// rounds alternate until the answer is done; it is closed with what the caller actually heard. A new input while a
/// turn runs cancels that turn and waits (at most Conversation:SupersedeWait) for it to wind down and be closed
/// first, so the history stays in the order it happened; inputs that arrive meanwhile are joined, never lost.
/// </para>
/// </summary>
internal sealed partial class CallLoop
{
    private const string CancelledToolResult = "Not completed: the caller interrupted before this tool finished.";
    private const string AbandonedToolResult = "Not completed: the answer failed before this tool finished.";
    private const string ToolLimitResult = "Not run: too many tool rounds in one answer.";

    private readonly ActiveCall _call;
    private readonly CallLoopServices _services;
    // Synchronous continuations: the loop runs on the thread that posted to it when it was waiting (the receive
    // loop, a timer, a finished round), as a handler would, instead of costing a thread-pool hop per input. Nobody
    // posts while holding a lock, and what the loop posts to itself while running is only queued.
    private readonly Channel<CallInput> _inputs = Channel.CreateUnbounded<CallInput>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PendingTurn? _pending;
    private List<TaskCompletionSource>? _idleWaiters;
    private ITimer? _closeWait;
    private long _nextTurnId;
    private int _dtmfTools;
    private bool _handedOver;
    private bool _ended;

    public CallLoop(ActiveCall call, CallLoopServices services)
    {
        _call = call;
        _services = services;
    }

    /// <summary>The running turn (read by tests and the transport; written by the loop).</summary>
    public TurnHandle? Running
    {
        get => Volatile.Read(ref field);
        private set => Volatile.Write(ref field, value);
    }

    public Task Completion => _completion.Task;

    private Conversation Conversation => _call.Conversation;

    private ILogger Logger => _services.Logger;

    public bool Post(CallInput input) => _inputs.Writer.TryWrite(input);

    public void Start()
    {
        // The session's end stops the loop even when the transport never says so.
        _call.SessionToken.UnsafeRegister(static state => ((CallLoop)state!).Post(CallInput.SessionClosed.Instance), this);
        AwaitCaller();
        _ = Task.Run(RunAsync, CancellationToken.None);
    }

    public Task IdleAsync() => PostAndWait(static done => new CallInput.IdleWanted(done));

    public Task HandOverAsync() => PostAndWait(static done => new CallInput.HandOver(done));

    /// <summary>Posts an input that completes a task when the loop has acted on it (at once if the loop has stopped).</summary>
    private Task PostAndWait(Func<TaskCompletionSource, CallInput> input)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(input(done)))
        {
            done.TrySetResult();
        }

        return done.Task;
    }

    private async Task RunAsync()
    {
        var reader = _inputs.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var input))
                {
                    Handle(input);
                    if (_ended && Running is null && _dtmfTools == 0)
                    {
                        return;
                    }
                }

                ReleaseIdleWaiters();
            }
        }
        finally
        {
            _inputs.Writer.TryComplete();
            DisposeTimers();
            _closeWait?.Dispose();
            while (reader.TryRead(out var left))
            {
                if (left is CallInput.IdleWanted or CallInput.HandOver)
                {
                    Complete(left);
                }
            }

            _idleWaiters?.ForEach(w => w.TrySetResult());
            _completion.TrySetResult();
        }
    }

    private void Handle(CallInput input)
    {
        try
        {
            switch (input)
            {
                case CallInput.Prompt prompt:
                    OnPrompt(prompt);
                    break;
                case CallInput.Interrupt interrupt:
                    OnInterrupt(interrupt);
                    break;
                case CallInput.Digit digit:
                    OnDigit(digit.Value);
                    break;
                case CallInput.DigitsTimedOut timedOut:
                    OnDigitsTimedOut(timedOut.Generation);
                    break;
                case CallInput.SilenceElapsed silence:
                    OnSilence(silence.Generation);
                    break;
                case CallInput.RoundStreamed streamed:
                    OnRoundStreamed(streamed.Turn, streamed.Outcome);
                    break;
                case CallInput.ToolsInvoked invoked:
                    OnToolsInvoked(invoked.Turn, invoked.Results, invoked.EndsTurn);
                    break;
                case CallInput.DtmfToolInvoked dtmfTool:
                    OnDtmfToolInvoked(dtmfTool);
                    break;
                case CallInput.CloseWaitElapsed elapsed:
                    OnCloseWaitElapsed(elapsed.Turn);
                    break;
                case CallInput.HandOver handOver:
                    OnHandOver(handOver.Done);
                    break;
                case CallInput.IdleWanted idle:
                    (_idleWaiters ??= []).Add(idle.Done);
                    break;
                case CallInput.SessionClosed:
                    OnSessionClosed();
                    break;
            }
        }
        catch (Exception ex)
        {
            // A bug in one input's handling must not stop the call's loop.
            Log.InputFailed(Logger, ex, _call.LogId, input.GetType().Name);
        }
    }

    private static void Complete(CallInput input)
    {
        switch (input)
        {
            case CallInput.IdleWanted idle:
                idle.Done.TrySetResult();
                break;
            case CallInput.HandOver handOver:
                handOver.Done.TrySetResult();
                break;
        }
    }

    private void ReleaseIdleWaiters()
    {
        if (_idleWaiters is { Count: > 0 } waiters && Running is null && _pending is null && _dtmfTools == 0)
        {
            foreach (var waiter in waiters)
            {
                waiter.TrySetResult();
            }

            waiters.Clear();
        }
    }

    /// <summary>
    /// The one place a turn is asked for: starts it now, or — while another runs — cancels that one and starts
    /// this when it has been closed, joined with any other input that arrives meanwhile.
    /// </summary>
    private void Begin(PendingTurn next)
    {
        if (_ended || _handedOver)
        {
            return;
        }

        if (Running is { } running)
        {
            _pending = _pending is { } waiting ? next with { Input = Utterance.Join(waiting.Input, next.Input, _call.MaxUtteranceChars) } : next;
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
        _services.Journal.SaveFrom(_call, Conversation.AddUserText(next.Input));

        if (next.FixedReply is { } reply)
        {
            Launch(turn, static (loop, turn, reply) => loop.SayLineAsync(turn, reply!), reply);
        }
        else
        {
            LaunchRound(turn);
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

    private void LaunchRound(TurnHandle turn)
    {
        var request = new ModelRequest(_call.SystemPrompt, [.. Conversation.Messages], _call.Tools, _call.UseCase.Model);
        Launch(turn, static async (loop, turn, request) =>
            new CallInput.RoundStreamed(turn, await loop._services.Rounds.StreamAsync(loop._call, turn, request!).ConfigureAwait(false)), request);
    }

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
            // The text before the tool uses was spoken; it and the uses form one assistant message.
            List<ContentBlock> content = turn.TakeSpoken() is { } spoken ? [new TextBlock(spoken), .. toolUses] : [.. toolUses];
            _services.Journal.SaveFrom(_call, Conversation.AddAssistant(content));
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

        Finish(turn, turn.IsCancelled ? "cancelled" : outcome.Failed ? "failed" : "completed");
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
            Finish(turn, turn.IsCancelled ? "cancelled" : "completed");
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
        _closeWait = _services.Time.CreateTimer(
            static state =>
            {
                var (loop, turn) = ((CallLoop, TurnHandle))state!;
                loop.Post(new CallInput.CloseWaitElapsed(turn));
            },
            (this, turn),
            _services.Options.SupersedeWait,
            Timeout.InfiniteTimeSpan);
    }

    private void OnCloseWaitElapsed(TurnHandle turn)
    {
        if (turn == Running)
        {
            Log.SupersedeTimedOut(Logger, _call.LogId, turn.Id);
            Finish(turn, "cancelled");
        }
    }

    /// <summary>Closes <paramref name="turn"/> with what the caller heard, then starts what waited for it.</summary>
    private void Finish(TurnHandle turn, string outcome)
    {
        Close(turn);
        Running = null;
        _closeWait?.Dispose();
        _closeWait = null;
        if (outcome == "cancelled")
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
        var firstChanged = Conversation.Messages.Count;
        AnswerPendingToolUses(turn.IsCancelled ? CancelledToolResult : AbandonedToolResult);
        var spoken = turn.Close();
        if (turn.Apology is not null)
        {
            spoken = spoken is null ? turn.Apology : spoken + " " + turn.Apology;
        }

        if (spoken is not null && Conversation.Last is { Role: ConversationRole.User })
        {
            Conversation.AddAssistant([new TextBlock(spoken)], turn.Moderation);
        }

        _services.Journal.SaveFrom(_call, firstChanged);
        if (turn.Heard is not null)
        {
            _services.Journal.SaveTruncation(_call, Conversation.TruncateLastAssistant(turn.Heard));
        }
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

    private void OnHandOver(TaskCompletionSource done)
    {
        _handedOver = true;
        _pending = null;
        if (Running is { } running)
        {
            Stop(running);
        }

        DisposeTimers();
        done.TrySetResult();
    }

    private void OnSessionClosed()
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        _pending = null;
        DisposeTimers();
        if (Running is { } running)
        {
            Stop(running);
        }
    }

    /// <summary>What a turn waiting for the running one to close will start with.</summary>
    private sealed record PendingTurn(string Input, string? FixedReply = null, bool EndsCall = false, long ReceivedAt = 0);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Call {CallSid} turn {TurnId} cancelled (barge-in: {BargeIn})")]
        public static partial void TurnCancelled(ILogger logger, string callSid, long turnId, bool bargeIn);

        [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Call {CallSid} turn {TurnId} did not wind down in time; it is closed with what was heard")]
        public static partial void SupersedeTimedOut(ILogger logger, string callSid, long turnId);

        [LoggerMessage(EventId = 2009, Level = LogLevel.Error, Message = "Call {CallSid}: handling a {Input} failed; the call goes on")]
        public static partial void InputFailed(ILogger logger, Exception exception, string callSid, string input);

        [LoggerMessage(EventId = 2010, Level = LogLevel.Error, Message = "Call {CallSid} turn {TurnId}: its work failed outside its own handling")]
        public static partial void WorkFailed(ILogger logger, Exception exception, string callSid, long turnId);

        [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Call {CallSid}: the caller has been silent ({Count} in a row)")]
        public static partial void Silence(ILogger logger, string callSid, int count);

        [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Call {CallSid} barge-in during turn {TurnId} after {DurationMs} ms of speech")]
        public static partial void InterruptedRunning(ILogger logger, string callSid, long turnId, long durationMs);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Call {CallSid} barge-in after the answer was complete, {DurationMs} ms into speech")]
        public static partial void InterruptedSpeaking(ILogger logger, string callSid, long durationMs);

        [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "Call {CallSid}: acting on key presses failed")]
        public static partial void DtmfFailed(ILogger logger, Exception exception, string callSid);
    }
}
