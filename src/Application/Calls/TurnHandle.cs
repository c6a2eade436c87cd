using System.Diagnostics;
using System.Text;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Calls;

/// <summary>
/// One answer in progress: its cancellation, what the caller said to start it, what has been spoken of it, and —
/// when the caller barged in — what they heard. The call's loop creates, cancels and closes it; the turn's work
/// (a model round, a tool round, a fixed line) speaks through it. What was spoken is guarded by the turn's own
/// lock, the one point where the loop and the turn's work meet: once the loop has closed the turn, nothing more
/// of it can be spoken or recorded. A turn is cancelled at most once, never reused, and disposed once it is closed
/// and its work has reported back.
/// </summary>
public sealed class TurnHandle : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly Lock _speech = new();
    private readonly StringBuilder _spoken = new();

    /// <summary>How much of <see cref="_spoken"/> was taken already (kept rather than cleared: clearing a grown builder allocates).</summary>
    private int _taken;
    private volatile bool _cancelled;
    private int _disposed;
    private int _firstTokenWritten;
    private bool _closed;
    private bool _atBoundary;
    private char _lastSpoken;

    internal TurnHandle(long id, string input, CancellationToken sessionToken)
    {
        Id = id;
        Input = input;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(sessionToken);
        Token = _cts.Token;
    }

    public long Id { get; }

    public CancellationToken Token { get; }

    /// <summary>True as soon as <see cref="Cancel"/> ran; checked by the sender before every frame.</summary>
    public bool IsCancelled => _cancelled || Token.IsCancellationRequested;

    /// <summary>What the caller said to start this turn.</summary>
    public string Input { get; }

    /// <summary>The caller's barge-in report: what they heard of this turn's answer. Loop only.</summary>
    internal string? Heard { get; set; }

    /// <summary>Whether the turn's work (a round, tools, a line) is out and has not reported back yet. Loop only.</summary>
    internal bool Working { get; set; }

    /// <summary>The model rounds this turn has started (tool rounds loop back to the model). Loop only.</summary>
    internal int Round { get; set; }

    /// <summary>The call ends after this turn (the silence goodbye): the loop does not wait for the caller again.</summary>
    internal bool EndsCall { get; init; }

    /// <summary>The turn's span; its model rounds and tools are children of it.</summary>
    internal Activity? Activity { get; init; }

    /// <summary>
    /// When the caller's prompt arrived (TimeProvider timestamp), for time-to-first-token; the loop sets it when
    /// the transport did not, before the turn can send anything.
    /// </summary>
    internal long StartedAt { get; init; }

    /// <summary>Where the turn's time goes: noted by the loop, its rounds and the transport.</summary>
    public TurnClock Clock { get; } = new();

    /// <summary>The position of the answer the turn closed with, if it closed with one. Loop only.</summary>
    internal int? AnswerIndex { get; set; }

    /// <summary>Whether the turn's final timings went to metrics and the call. Loop only.</summary>
    internal bool TimingsRecorded { get; set; }

    /// <summary>Whether this turn already said a filler line while tools ran.</summary>
    internal bool FillerSpoken { get; set; }

    /// <summary>Why a content guardrail stopped this turn's answer (guardrail_intervened, content_filtered), if one did.</summary>
    internal string? Moderation { get; set; }

    /// <summary>Tokens and cost of this turn's model calls not yet recorded on a message. Added by its rounds, taken by the loop.</summary>
    private TokenUsage? _usage;
    private decimal _cost;

    internal void AddUsage(TokenUsage usage, decimal cost)
    {
        lock (_speech)
        {
            _usage = _usage is { } added ? added.Plus(usage) : usage;
            _cost += cost;
        }
    }

    /// <summary>The usage not yet recorded, and its cost; (null, 0) when none. Loop only.</summary>
    internal (TokenUsage? Usage, decimal Cost) TakeUsage()
    {
        lock (_speech)
        {
            var taken = (_usage, _cost);
            (_usage, _cost) = (null, 0m);
            return taken;
        }
    }

    /// <summary>Spoken after a failure, recorded with the rest.</summary>
    internal string? Apology { get; set; }

    /// <summary>True the first time only: the transport has written this turn's first answer token.</summary>
    internal bool TryMarkFirstTokenWritten() => Interlocked.Exchange(ref _firstTokenWritten, 1) == 0;

    /// <summary>
    /// What comes next starts a new stretch of speech (another model round, a filler, a recovery line): it is
    /// separated from what was said before as a word, never glued to it ("in. Your", not "in.Your").
    /// </summary>
    internal void StartStretch()
    {
        lock (_speech)
        {
            _atBoundary = true;
        }
    }

    /// <summary>
    /// Notes <paramref name="text"/> as spoken and returns it as it must go out (after a space at a stretch's
    /// start). Throws once the loop has closed the turn: a closed turn speaks no more.
    /// </summary>
    internal string Speak(string text)
    {
        lock (_speech)
        {
            if (_closed)
            {
                throw new OperationCanceledException("The turn was closed.", Token);
            }

            if (text.Length > 0)
            {
                text = _atBoundary ? Separated(_lastSpoken, text) : text;
                _atBoundary = false;
                _lastSpoken = text[^1];
                _spoken.Append(text);
            }

            return text;
        }
    }

    /// <summary>
    /// Hands <paramref name="text"/> to the caller as part of this turn and notes it as spoken; refused once the
    /// turn is closed. Empty text is sent only as the end-of-answer marker.
    /// </summary>
    internal ValueTask SayAsync(ICallOutput output, string text, bool last)
    {
        if (text.Length == 0 && !last)
        {
            return ValueTask.CompletedTask;
        }

        return output.SendAsync(new SpeakText(Speak(text), last), this, Token);
    }

    /// <summary><paramref name="text"/>, after a space when it would otherwise run into what was said before.</summary>
    internal string SeparatedFromSpoken(string text)
    {
        lock (_speech)
        {
            return Separated(_lastSpoken, text);
        }
    }

    /// <summary>What the turn has spoken and not yet recorded, trimmed; null when nothing. Loop only.</summary>
    internal string? TakeSpoken()
    {
        lock (_speech)
        {
            return TakeSpokenLocked();
        }
    }

    /// <summary>Closes the turn: nothing more may be spoken. Returns what was spoken and not yet recorded. Loop only.</summary>
    internal string? Close()
    {
        lock (_speech)
        {
            _closed = true;
            return TakeSpokenLocked();
        }
    }

    public void Cancel()
    {
        _cancelled = true;
        if (Volatile.Read(ref _disposed) == 0)
        {
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Disposed between the check and the cancel: the turn is over, nothing to stop.
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _cts.Dispose();
        }
    }

    private string? TakeSpokenLocked()
    {
        var (start, end) = (_taken, _spoken.Length);
        _taken = end;
        while (start < end && char.IsWhiteSpace(_spoken[start]))
        {
            start++;
        }

        while (end > start && char.IsWhiteSpace(_spoken[end - 1]))
        {
            end--;
        }

        return end > start ? _spoken.ToString(start, end - start) : null;
    }

    private static string Separated(char before, string text) =>
        before != '\0' && !char.IsWhiteSpace(before) && text.Length > 0 && !char.IsWhiteSpace(text[0]) ? " " + text : text;
}
