using System.Text;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Calls;

/// <summary>
/// The live state of one call while its relay session is open. The transport owns it; handlers change it.
/// <see cref="Gate"/> serialises every change to the conversation and the current turn.
/// </summary>
public sealed class ActiveCall
{
    private readonly StringBuilder _digits = new();
    private string? _preview;
    private ITimer? _digitTimer;
    private ITimer? _silenceTimer;
    private int _silencesInARow;
    private bool _closed;
    private TurnHandle? _currentTurn;
    private long _nextTurnId;
    private int _fillers;

    public ActiveCall(
        Call call,
        UseCase useCase,
        CallerProfile? profile,
        string systemPrompt,
        ICallOutput output,
        CancellationToken sessionToken,
        IReadOnlyList<ToolSpec>? tools = null,
        Conversation? history = null,
        int maxUtteranceChars = 2_000)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(useCase);
        ArgumentNullException.ThrowIfNull(output);
        Call = call;
        LogId = Domain.Common.LogIds.Call(call.CallSid);
        UseCase = useCase;
        Profile = profile;
        SystemPrompt = systemPrompt;
        Output = output;
        SessionToken = sessionToken;
        Tools = tools ?? [];
        Conversation = history ?? new Conversation();
        MaxUtteranceChars = maxUtteranceChars;
    }

    /// <summary>The most one utterance (or the joined input of superseded turns) may hold.</summary>
    public int MaxUtteranceChars { get; }

    /// <summary>
    /// What the caller is saying right now, from the latest partial prompt (Twilio's partialPrompts); replaced by
    /// each partial, cleared by the final. At most <see cref="MaxUtteranceChars"/>.
    /// </summary>
    public string? Preview
    {
        get
        {
            lock (Gate)
            {
                return _preview;
            }
        }
    }

    /// <summary>The use case's tools that have handlers: what the model is offered.</summary>
    public IReadOnlyList<ToolSpec> Tools { get; }

    public Call Call { get; }

    public string CallSid => Call.CallSid;

    /// <summary>The CallSid as logs show it (masked).</summary>
    public string LogId { get; }

    public UseCase UseCase { get; }

    public CallerProfile? Profile { get; }

    /// <summary>The use case's system prompt with this call's placeholders filled.</summary>
    public string SystemPrompt { get; }

    public ICallOutput Output { get; }

    /// <summary>Fires when the relay session closes or the host stops.</summary>
    public CancellationToken SessionToken { get; }

    public Lock Gate { get; } = new();

    /// <summary>Guarded by <see cref="Gate"/>.</summary>
    public Conversation Conversation { get; }

    /// <summary>
    /// The language the caller is being spoken to in, once switched (or carried over by a hand-over); null for the
    /// use case's own. A hand-over passes it to the next session.
    /// </summary>
    public string? Language { get; set; }

    public TurnHandle? CurrentTurn
    {
        get
        {
            lock (Gate)
            {
                return _currentTurn;
            }
        }
    }

    /// <summary>
    /// Starts a new turn for <paramref name="input"/>, cancelling the running one. Input the cancelled turn never
    /// put into the conversation is carried over, so nothing the caller said is lost.
    /// </summary>
    /// <returns>The new turn and the one it superseded (to wait for before touching the conversation).</returns>
    public (TurnHandle Turn, TurnHandle? Previous) BeginTurn(string input)
    {
        lock (Gate)
        {
            var previous = _currentTurn;
            var text = input;
            if (previous is { InputTaken: false })
            {
                text = Conversations.Utterance.Join(previous.Input, input, MaxUtteranceChars);
                previous.InputTaken = true;
            }

            var turn = new TurnHandle(++_nextTurnId, text, previous, SessionToken);
            _currentTurn = turn;

            // Last, with every field settled: cancellation may run the old turn's continuation inline.
            previous?.Cancel();
            return (turn, previous);
        }
    }

    /// <summary>The next of the use case's filler lines, in turn, so the caller does not hear the same one twice running.</summary>
    public string NextFillerLine()
    {
        var lines = UseCase.FillerLines;
        return lines[(Interlocked.Increment(ref _fillers) - 1) % lines.Count];
    }

    /// <summary>Cancels whatever turn is running (session closing).</summary>
    public void CancelCurrentTurn()
    {
        lock (Gate)
        {
            _currentTurn?.Cancel();
        }
    }

    /// <summary>The session is over: stop the running turn and every timer of the call.</summary>
    public void Close()
    {
        lock (Gate)
        {
            _closed = true;
            _currentTurn?.Cancel();
            _digitTimer?.Dispose();
            _digitTimer = null;
            _silenceTimer?.Dispose();
            _silenceTimer = null;
        }
    }

    /// <summary>
    /// Starts (or restarts) waiting for the caller: <paramref name="onSilence"/> runs if nothing is heard within the
    /// use case's silence timeout. No-op when the use case leaves silence alone or the call is closed.
    /// </summary>
    public void AwaitCaller(TimeProvider timeProvider, Action onSilence)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        lock (Gate)
        {
            _silenceTimer?.Dispose();
            _silenceTimer = null;
            if (!_closed && UseCase.Silence is { } silence)
            {
                _silenceTimer = timeProvider.CreateTimer(static state => ((Action)state!)(), onSilence, silence.Timeout, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>The caller did something (spoke, pressed a key, barged in): stop the silence countdown and its count.</summary>
    public void CallerHeard()
    {
        lock (Gate)
        {
            _silenceTimer?.Dispose();
            _silenceTimer = null;
            _silencesInARow = 0;
        }
    }

    /// <summary>Counts a silence; returns how many in a row (1 = reprompt, 2 = goodbye).</summary>
    public int CountSilence()
    {
        lock (Gate)
        {
            return ++_silencesInARow;
        }
    }

    /// <summary>
    /// Buffers a key press. Returns the whole sequence when it is complete ('#', or the longest key), otherwise
    /// null after arming <paramref name="flushAfterTimeout"/> to run once no key follows within the timeout.
    /// </summary>
    public string? AddDigit(string digit, TimeProvider timeProvider, TimeSpan interDigitTimeout, Action flushAfterTimeout)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        lock (Gate)
        {
            _digitTimer?.Dispose();
            _digitTimer = null;
            _digits.Append(digit);
            if (digit == "#" || _digits.Length >= 16)
            {
                return TakeDigitsLocked();
            }

            if (!_closed)
            {
                _digitTimer = timeProvider.CreateTimer(static state => ((Action)state!)(), flushAfterTimeout, interDigitTimeout, Timeout.InfiniteTimeSpan);
            }

            return null;
        }
    }

    /// <summary>The buffered key presses, emptied; null when there are none.</summary>
    public string? TakeDigits()
    {
        lock (Gate)
        {
            return TakeDigitsLocked();
        }
    }

    private string? TakeDigitsLocked()
    {
        if (_digits.Length == 0)
        {
            return null;
        }

        var digits = _digits.ToString();
        _digits.Clear();
        return digits;
    }

    /// <summary>
    /// Takes a prompt frame. A partial (<paramref name="last"/> false) holds the utterance so far and only replaces
    /// the preview; the final one is the utterance, returned cut to <see cref="MaxUtteranceChars"/>.
    /// </summary>
    public string? TakePrompt(string text, bool last)
    {
        var utterance = Conversations.Utterance.Cut(text, MaxUtteranceChars);
        lock (Gate)
        {
            _preview = last ? null : utterance;
        }

        return last ? utterance : null;
    }
}
