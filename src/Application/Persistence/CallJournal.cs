using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Tools;

namespace VoiceAgent.Application.Persistence;

/// <summary>
/// Write-behind persistence: callers enqueue without waiting, a background writer stores in order, retrying
/// until the store answers. Nothing here ever sits between a prompt and its first token.
/// </summary>
public interface ICallJournal
{
    void CallCreated(Call call);

    void CallChanged(Call call);

    void MessagesSaved(string callSid, IReadOnlyList<IndexedMessage> messages);

    void MessageRemoved(string callSid, int index);

    void ToolCallRecorded(ToolCall toolCall);

    /// <summary>Entries waiting to be written.</summary>
    int Pending { get; }

    /// <summary>
    /// Completes when everything this instance journaled for <paramref name="callSid"/> before the call is stored (or
    /// set aside as a dead letter): at once when nothing is queued for it. Never completes while the store refuses the
    /// call's writes; wait with a timeout.
    /// </summary>
    Task WrittenAsync(string callSid);
}

public static class CallJournalExtensions
{
    /// <summary>
    /// Waits, at most <paramref name="within"/>, for everything this instance journaled for <paramref name="callSid"/>
    /// to be stored (see <see cref="ICallJournal.WrittenAsync"/>); false when the bound passed first.
    /// </summary>
    public static async Task<bool> WaitWrittenAsync(this ICallJournal journal, string callSid, TimeSpan within, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journal);
        try
        {
            await journal.WrittenAsync(callSid).WaitAsync(within, timeProvider, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}

internal sealed partial class CallJournal : ICallJournal
{
    private readonly Channel<JournalEntry>[] _lanes;
    private readonly ILogger<CallJournal> _logger;
    private int _pending;

    public CallJournal(IOptions<PersistenceOptions> options, ILogger<CallJournal> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger;
        var settings = options.Value;
        var capacity = Math.Max(16, settings.QueueCapacity / settings.Writers);
        LaneCapacity = capacity;
        _lanes = new Channel<JournalEntry>[settings.Writers];
        for (var i = 0; i < _lanes.Length; i++)
        {
            _lanes[i] = Channel.CreateBounded<JournalEntry>(new BoundedChannelOptions(capacity)
            {
                SingleReader = true,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }
    }

    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Entries one lane holds; a writer holds no more than this many waiting for retry either.</summary>
    internal int LaneCapacity { get; }

    /// <summary>
    /// One reader per lane. A call's entries all go to the same lane, so they are written in order; different
    /// calls write in parallel, and a call whose writes are failing holds back only the calls in its lane.
    /// </summary>
    internal IReadOnlyList<ChannelReader<JournalEntry>> Lanes => [.. _lanes.Select(l => l.Reader)];

    public void CallCreated(Call call) => Enqueue(new CallCreatedEntry(Snapshot(call)));

    public void CallChanged(Call call) => Enqueue(new CallChangedEntry(Snapshot(call)));

    public void MessagesSaved(string callSid, IReadOnlyList<IndexedMessage> messages) =>
        Enqueue(new MessagesSavedEntry(callSid, messages));

    public void MessageRemoved(string callSid, int index) => Enqueue(new MessageRemovedEntry(callSid, index));

    public void ToolCallRecorded(ToolCall toolCall) => Enqueue(new ToolCallEntry(toolCall));

    public Task WrittenAsync(string callSid)
    {
        var mark = new WrittenMarkEntry(callSid, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        // Closed (shutting down) or full: there is nothing to wait behind that this instance will write soon.
        return TryEnqueue(mark) ? mark.Done.Task : Task.CompletedTask;
    }

    internal void Written(int entries) => Interlocked.Add(ref _pending, -entries);

    /// <summary>The lane that writes <paramref name="callSid"/>'s entries.</summary>
    internal int LaneOf(string callSid) => (int)((uint)callSid.GetHashCode(StringComparison.Ordinal) % (uint)_lanes.Length);

    internal void Complete()
    {
        foreach (var lane in _lanes)
        {
            lane.Writer.TryComplete();
        }
    }

    private bool TryEnqueue(JournalEntry entry)
    {
        if (!_lanes[LaneOf(entry.CallSid)].Writer.TryWrite(entry))
        {
            return false;
        }

        Interlocked.Increment(ref _pending);
        return true;
    }

    private void Enqueue(JournalEntry entry)
    {
        if (TryEnqueue(entry))
        {
            return;
        }

        // Full (the store has been down long enough to fill the queue) or completed (shutting down).
        Log.Dropped(_logger, entry.GetType().Name, LogIds.Call(entry.CallSid));
    }

    // Calls are mutable; the writer must store the state at the time of the change.
    private static Call Snapshot(Call c) => Call.Restore(
        c.CallSid, c.From, c.To, c.UseCaseId, c.Status, c.CreatedAt, c.ConnectedAt, c.EndedAt, c.SessionId, c.HandoffData, c.SessionSeconds, c.ErrorCode, c.ReportedSessionId).WithUsageOf(c).WithFlagsOf(c).WithRecordOf(c).WithFoldOf(c);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Journal queue refused {Entry} for call {CallSid}: full or closed; the write is lost")]
        public static partial void Dropped(ILogger logger, string entry, string callSid);
    }
}
