using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Calls;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// One call's event loop: the single reader of the call's inbox and the only code that changes its conversation
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
    private readonly ActiveCall _call;
    private readonly CallLoopServices _services;
    // Synchronous continuations: the loop runs on the thread that posted to it when it was waiting (the receive
    // loop, a timer, a finished round), as a handler would, instead of costing a thread-pool hop per input. Nobody
    // posts while holding a lock, and what the loop posts to itself while running is only queued.
    private readonly CallInbox _inputs = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private List<TaskCompletionSource>? _idleWaiters;
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

    public bool Post(CallInput input) => _inputs.TryWrite(input);

    /// <summary>A one-shot timer on the call's clock that posts <paramref name="input"/> to the loop when it fires.</summary>
    private ITimer PostAfter(TimeSpan due, CallInput input) =>
        _services.Time.CreateTimer(
            static state =>
            {
                var (loop, input) = ((CallLoop, CallInput))state!;
                loop.Post(input);
            },
            (this, input),
            due,
            Timeout.InfiniteTimeSpan);

    public void Start()
    {
        // The session's end stops the loop even when the transport never says so.
        _call.SessionToken.UnsafeRegister(static state => ((CallLoop)state!).Post(CallInput.SessionClosed.Instance), this);
        ResumeFold();
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
        var reader = _inputs;
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
            _inputs.Complete();
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
                case CallInput.RelayEvent relayEvent:
                    OnRelayEvent(relayEvent);
                    break;
                case CallInput.TurnSpoken spoken:
                    OnTurnSpoken(spoken.Turn);
                    break;
                case CallInput.Summarized summarized:
                    OnSummarized(summarized);
                    break;
                case CallInput.PartialStable stable:
                    OnPartialStable(stable.Generation);
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

    private void OnHandOver(TaskCompletionSource done)
    {
        _handedOver = true;
        _pending = null;
        DropHeld(PreemptionOutcome.Dropped);
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
        DropHeld(PreemptionOutcome.Dropped);
        DisposeTimers();
        if (Running is { } running)
        {
            Stop(running);
        }

        // What only this instance's memory holds of the call (token usage and cost, turn latencies) is stored now:
        // the session-end callback may be answered from the store, or by another instance.
        _services.Journal.CallChanged(_call.Call);
    }

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
