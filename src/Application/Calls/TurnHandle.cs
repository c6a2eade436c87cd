namespace VoiceAgent.Application.Calls;

/// <summary>
/// One answer in progress: its cancellation, what the caller said to start it, and — when the caller barged
/// in — what they heard. Mutable fields are guarded by the owning <see cref="ActiveCall.Gate"/>.
/// A turn is cancelled at most once, never reused, and disposed when it completes.
/// </summary>
public sealed class TurnHandle : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private volatile bool _cancelled;
    private int _disposed;
    private int _firstTokenWritten;

    internal TurnHandle(long id, string input, TurnHandle? previous, CancellationToken sessionToken)
    {
        Id = id;
        Input = input;
        Previous = previous is { Completed: false } ? previous : null;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(sessionToken);
        Token = _cts.Token;
    }

    public long Id { get; }

    public CancellationToken Token { get; }

    /// <summary>True as soon as <see cref="Cancel"/> ran; checked by the sender before every frame.</summary>
    public bool IsCancelled => _cancelled || Token.IsCancellationRequested;

    /// <summary>What the caller said (joined with any input a superseded turn never used).</summary>
    public string Input { get; internal set; }

    /// <summary>Set once the caller's input is in the conversation, or handed over to a newer turn.</summary>
    public bool InputTaken { get; internal set; }

    /// <summary>The caller's barge-in report: what they heard of this turn's answer.</summary>
    public string? Heard { get; internal set; }

    /// <summary>
    /// Set once the turn is closed: its last change is in the conversation and it may write nothing more.
    /// A turn is closed by itself when it winds down, or by the next turn if it is slow to.
    /// </summary>
    public bool Completed
    {
        get;
        internal set
        {
            field = value;
            if (value)
            {
                Previous = null;
            }
        }
    }

    /// <summary>The turn this one superseded, while that one is still open.</summary>
    internal TurnHandle? Previous { get; private set; }

    /// <summary>What has been handed to the caller and not yet recorded. Guarded by the call's gate.</summary>
    internal System.Text.StringBuilder Spoken { get; } = new();

    /// <summary>
    /// When the caller's prompt arrived (TimeProvider timestamp), for time-to-first-token; the runner sets it
    /// when the transport did not, before the turn can send anything.
    /// </summary>
    internal long StartedAt { get; set; }

    /// <summary>The last character handed to the caller in this turn ('\0' before the first).</summary>
    internal char LastSpoken { get; set; }

    /// <summary>
    /// What comes next starts a new stretch of speech (another model round, a filler, a recovery line): it is
    /// separated from what was said before as a word, never glued to it ("in. Your", not "in.Your").
    /// </summary>
    internal bool AtBoundary { get; set; }

    /// <summary>Whether this turn already said a filler line while tools ran.</summary>
    internal bool FillerSpoken { get; set; }

    /// <summary>Why a content guardrail stopped this turn's answer (guardrail_intervened, content_filtered), if one did.</summary>
    internal string? Moderation { get; set; }

    /// <summary>Spoken after a failure, recorded with the rest.</summary>
    internal string? Apology { get; set; }

    /// <summary>Completes when the turn's task has finished, whatever the outcome.</summary>
    public Task Completion { get; internal set; } = Task.CompletedTask;

    /// <summary>True the first time only: the transport has written this turn's first answer token.</summary>
    internal bool TryMarkFirstTokenWritten() => Interlocked.Exchange(ref _firstTokenWritten, 1) == 0;

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
}
