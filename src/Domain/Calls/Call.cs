using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Domain.Calls;

public enum CallStatus
{
    /// <summary>The webhook answered; the relay has not connected yet.</summary>
    Ringing,

    /// <summary>The relay WebSocket is up.</summary>
    InProgress,

    Completed,

    HandedOff,

    Failed,
}

/// <summary>One phone call, identified by Twilio's CallSid.</summary>
public sealed class Call
{
    private Call(string callSid, string from, string to, string useCaseId, DateTimeOffset createdAt)
    {
        CallSid = callSid;
        From = from;
        To = to;
        UseCaseId = useCaseId;
        CreatedAt = createdAt;
        Status = CallStatus.Ringing;
    }

    public string CallSid { get; }

    public string From { get; }

    public string To { get; }

    public string UseCaseId { get; }

    public CallStatus Status { get; private set; }

    public DateTimeOffset CreatedAt { get; }

    public DateTimeOffset? ConnectedAt { get; private set; }

    public DateTimeOffset? EndedAt { get; private set; }

    public string? SessionId { get; private set; }

    public string? HandoffData { get; private set; }

    public bool IsEnded => Status is CallStatus.Completed or CallStatus.HandedOff or CallStatus.Failed;

    public static Call Create(string callSid, string from, string to, string useCaseId, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(callSid))
        {
            throw new DomainException("A call needs a CallSid.");
        }

        if (string.IsNullOrWhiteSpace(useCaseId))
        {
            throw new DomainException($"Call {LogIds.Call(callSid)} needs a use case.");
        }

        return new Call(callSid, from ?? string.Empty, to ?? string.Empty, useCaseId, now);
    }

    /// <summary>Rebuilds a call from storage.</summary>
    public static Call Restore(
        string callSid,
        string from,
        string to,
        string useCaseId,
        CallStatus status,
        DateTimeOffset createdAt,
        DateTimeOffset? connectedAt,
        DateTimeOffset? endedAt,
        string? sessionId,
        string? handoffData,
        int sessionSeconds = 0,
        string? errorCode = null,
        string? reportedSessionId = null)
    {
        var call = Create(callSid, from, to, useCaseId, createdAt);
        call.Status = status;
        call.ConnectedAt = connectedAt;
        call.EndedAt = endedAt;
        call.SessionId = sessionId;
        call.HandoffData = handoffData;
        call.SessionSeconds = sessionSeconds;
        call.ErrorCode = errorCode;
        call.ReportedSessionId = reportedSessionId;
        return call;
    }

    // One immutable pair, replaced whole: the loop adds to it while the journal may be copying the call.
    private Totals _usage = new(TokenUsage.None, 0m);

    /// <summary>The model tokens this call has used (answers, summaries), summed.</summary>
    public TokenUsage Usage => Volatile.Read(ref _usage).Usage;

    /// <summary>What those tokens cost, in US dollars, at the configured prices (unpriced profiles count nothing).</summary>
    public decimal CostUsd => Volatile.Read(ref _usage).Cost;

    /// <summary>Adds one model call's tokens and cost (also how storage restores the totals).</summary>
    public void AddUsage(TokenUsage usage, decimal costUsd)
    {
        if (costUsd < 0)
        {
            throw new DomainException("A cost cannot be negative.");
        }

        var totals = Volatile.Read(ref _usage);
        Volatile.Write(ref _usage, new Totals(totals.Usage.Plus(usage), totals.Cost + costUsd));
    }

    /// <summary>This call with <paramref name="other"/>'s token totals added (a copy made by <see cref="Restore"/>).</summary>
    public Call WithUsageOf(Call other)
    {
        ArgumentNullException.ThrowIfNull(other);
        AddUsage(other.Usage, other.CostUsd);
        return this;
    }

    /// <summary>This call with <paramref name="other"/>'s speech fallback flag and turn latencies (a copy made by <see cref="Restore"/>).</summary>
    public Call WithFlagsOf(Call other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.SpeechFallbackUsed)
        {
            UseSpeechFallback();
        }

        Volatile.Write(ref _firstTextMs, Volatile.Read(ref other._firstTextMs));
        return this;
    }

    /// <summary>
    /// The running summary of the call's older history (a long call's bounded context), or null before the first
    /// fold: kept with the call so an instance that takes the call over sends what this one sent.
    /// </summary>
    public ContextFold? Fold
    {
        get => Volatile.Read(ref field);
        private set => Volatile.Write(ref field, value);
    }

    /// <summary>
    /// The first <paramref name="foldedMessages"/> messages of the history are now told by <paramref name="summary"/>.
    /// A fold only moves forward: false (nothing changes) for one that covers no more than the current fold.
    /// </summary>
    public bool FoldContext(string summary, int foldedMessages)
    {
        if (string.IsNullOrWhiteSpace(summary))
        {
            throw new DomainException($"Call {LogIds.Call(CallSid)}: a context summary cannot be empty.");
        }

        if (foldedMessages <= 0)
        {
            throw new DomainException($"Call {LogIds.Call(CallSid)}: a context summary must stand for at least one message.");
        }

        if (Fold is { } current && current.FoldedMessages >= foldedMessages)
        {
            return false;
        }

        Fold = new ContextFold(summary, foldedMessages);
        return true;
    }

    /// <summary>This call with <paramref name="other"/>'s context summary when it reaches further (a copy made by <see cref="Restore"/>).</summary>
    public Call WithFoldOf(Call other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Fold is { } fold)
        {
            FoldContext(fold.Summary, fold.FoldedMessages);
        }

        return this;
    }

    /// <summary>The most turn latencies a call keeps (the latest); its percentiles are over these.</summary>
    public const int MaxTimedTurns = 500;

    // Replaced whole (the loop adds while the journal may copy the call).
    private int[] _firstTextMs = [];

    /// <summary>Milliseconds from each timed turn's prompt to its first text frame, oldest first (at most <see cref="MaxTimedTurns"/>).</summary>
    public IReadOnlyList<int> FirstTextMs => Volatile.Read(ref _firstTextMs);

    /// <summary>The median of <see cref="FirstTextMs"/>, or null before the first timed turn.</summary>
    public int? FirstTextP50Ms => Percentile.Of(FirstTextMs, 50);

    /// <summary>The 95th percentile of <see cref="FirstTextMs"/>, or null before the first timed turn.</summary>
    public int? FirstTextP95Ms => Percentile.Of(FirstTextMs, 95);

    /// <summary>Notes one turn's prompt-to-first-text time (also how storage restores them).</summary>
    public void RecordFirstText(int milliseconds)
    {
        var current = Volatile.Read(ref _firstTextMs);
        int[] next = current.Length < MaxTimedTurns ? [.. current, milliseconds] : [.. current.AsSpan(1), milliseconds];
        Volatile.Write(ref _firstTextMs, next);
    }

    /// <summary>Seconds of relay sessions Twilio reported for this call (summed over reconnects).</summary>
    public int SessionSeconds { get; private set; }

    /// <summary>The error code Twilio reported when a relay session failed, if one did.</summary>
    public string? ErrorCode { get; private set; }

    /// <summary>The last relay session whose end was recorded (a replayed callback for it changes nothing).</summary>
    public string? ReportedSessionId { get; private set; }

    /// <summary>
    /// What Twilio's session-end callback reported about one relay session: its duration and any error code.
    /// Recorded once per session id. Returns whether anything changed.
    /// </summary>
    public bool RecordSession(string? sessionId, int? durationSeconds, string? errorCode)
    {
        if (durationSeconds is < 0)
        {
            throw new DomainException($"Call {LogIds.Call(CallSid)}: a session cannot last {durationSeconds} seconds.");
        }

        if (sessionId is not null)
        {
            if (string.Equals(sessionId, ReportedSessionId, StringComparison.Ordinal))
            {
                return false;
            }

            ReportedSessionId = sessionId;
        }

        var changed = sessionId is not null;
        if (durationSeconds is > 0 and var seconds)
        {
            SessionSeconds += seconds;
            changed = true;
        }

        if (!string.IsNullOrWhiteSpace(errorCode) && !string.Equals(errorCode, ErrorCode, StringComparison.Ordinal))
        {
            ErrorCode = errorCode;
            changed = true;
        }

        return changed;
    }

    /// <summary>
    /// <paramref name="update"/> as it applies to <paramref name="stored"/>: what identifies the call (numbers, use case,
    /// creation) stays the stored one's, an end stays an end, and the rest is the update's.
    /// </summary>
    public static Call Merge(Call stored, Call update)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(update);
        var end = stored.IsEnded ? stored : update;
        return Restore(
            stored.CallSid, stored.From, stored.To, stored.UseCaseId, end.Status, stored.CreatedAt, update.ConnectedAt ?? stored.ConnectedAt, end.EndedAt,
            update.SessionId ?? stored.SessionId, end.HandoffData, update.SessionSeconds, update.ErrorCode, update.ReportedSessionId)
            .WithUsageOf(update).WithFlagsOf(update).WithRecordOf(update).WithRecordOf(stored).WithFoldOf(update).WithFoldOf(stored);
    }

    /// <summary>
    /// This call, ended as <paramref name="other"/> is when this one is not: a copy of the live call taken after
    /// another copy recorded the end keeps that end.
    /// </summary>
    public Call WithEndOf(Call other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.IsEnded && !IsEnded)
        {
            Status = other.Status;
            EndedAt = other.EndedAt;
            HandoffData = other.HandoffData;
        }

        return this;
    }

    /// <summary>The post-call record, once written (and as storage restores it).</summary>
    public CallRecord? Record { get; private set; }

    /// <summary>Sets the post-call record; false when the call has one already (it is written once).</summary>
    public bool AttachRecord(CallRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (Record is not null)
        {
            return false;
        }

        Record = record;
        return true;
    }

    /// <summary>This call with <paramref name="other"/>'s post-call record, if it has one (a copy made by <see cref="Restore"/>).</summary>
    public Call WithRecordOf(Call other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Record is { } record)
        {
            AttachRecord(record);
        }

        return this;
    }

    /// <summary>Whether the call was reconnected with the use case's fallback speech providers (at most once).</summary>
    public bool SpeechFallbackUsed { get; private set; }

    /// <summary>
    /// The call moves to the fallback speech providers after its session failed because of one; false when it already
    /// has (a call falls back once: a second failure ends it). Also how storage restores the flag.
    /// </summary>
    public bool UseSpeechFallback()
    {
        if (SpeechFallbackUsed)
        {
            return false;
        }

        SpeechFallbackUsed = true;
        return true;
    }

    /// <summary>How many times the call moved to a new relay session (an instance shutting down hands it over).</summary>
    public int Reconnects { get; private set; }

    /// <summary>
    /// The relay connected. Idempotent for the same session id; a different session on a live call is a reconnect
    /// (the call moved to another instance) and replaces the old one.
    /// </summary>
    public void Connect(string sessionId, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(sessionId))
        {
            throw new DomainException($"Call {LogIds.Call(CallSid)}: a relay session needs an id.");
        }

        if (IsEnded)
        {
            throw new DomainException($"Call {LogIds.Call(CallSid)} has ended; a relay session cannot start.");
        }

        if (Status == CallStatus.InProgress && !string.Equals(SessionId, sessionId, StringComparison.Ordinal))
        {
            Reconnects++;
        }

        SessionId = sessionId;
        ConnectedAt ??= now;
        Status = CallStatus.InProgress;
    }

    /// <summary>The call ended. Ending an ended call keeps the first outcome.</summary>
    public bool End(CallStatus outcome, string? handoffData, DateTimeOffset now)
    {
        if (outcome is not (CallStatus.Completed or CallStatus.HandedOff or CallStatus.Failed))
        {
            throw new DomainException($"{outcome} is not an end state.");
        }

        if (IsEnded)
        {
            return false;
        }

        Status = outcome;
        HandoffData = handoffData;
        EndedAt = now;
        return true;
    }

    private sealed record Totals(TokenUsage Usage, decimal Cost);
}
