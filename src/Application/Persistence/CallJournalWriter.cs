using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Application.Persistence;

/// <summary>
/// Drains the journal into the repository. Each lane (Persistence:Writers of them, calls spread by CallSid) takes
/// every entry that is ready, and writes each call's entries as one coalesced request, so the journal keeps up with a
/// store whose requests take milliseconds. A call's writes stay in order. A write the store refuses for good is set
/// aside as a dead letter — logged with the CallSid masked, counted, kept for replay — never retried; a write that
/// failed for now (throttling, 5xx, timeout, the store down) is parked with its call's later entries and retried with
/// backoff while the lane goes on with every other call. On shutdown the queue is drained until the host's shutdown
/// timeout.
/// </summary>
internal sealed partial class CallJournalWriter : IHostedService, IDisposable
{
    private readonly CallJournal _journal;
    private readonly ICallRepository _repository;
    private readonly IDeadLetterStore _deadLetters;
    private readonly TimeProvider _time;
    private readonly PersistenceOptions _options;
    private readonly ILogger<CallJournalWriter> _logger;
    private readonly Counter<long> _deadLettered;
    private readonly Histogram<long> _batchItems;
    private readonly CancellationTokenSource _abort = new();
    private Task? _loop;
    private readonly TaskCompletionSource _draining = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CallJournalWriter(
        CallJournal journal,
        ICallRepository repository,
        IDeadLetterStore deadLetters,
        TimeProvider time,
        IOptions<PersistenceOptions> options,
        IMeterFactory meters,
        ILogger<CallJournalWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meters);
        _journal = journal;
        _repository = repository;
        _deadLetters = deadLetters;
        _time = time;
        _options = options.Value;
        _logger = logger;
        var meter = meters.Create("VoiceAgent.Persistence");
        _deadLettered = meter.CreateCounter<long>("voiceagent.journal.dead_letters", description: "Journal entries the store refused for good, set aside for replay");
        _batchItems = meter.CreateHistogram<long>("voiceagent.journal.batch_items", description: "Items per store request of the journal");
        meter.CreateObservableGauge("voiceagent.journal.pending", () => _journal.Pending, description: "Journal entries not yet written");
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.WhenAll(_journal.Lanes.Select(lane => Task.Run(() => RunLaneAsync(lane, _abort.Token), CancellationToken.None)));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _draining.TrySetResult();
        _journal.Complete();
        if (_loop is null)
        {
            return;
        }

        Log.Draining(_logger, _journal.Pending);
        using var registration = cancellationToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), _abort);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Log.DrainAbandoned(_logger, _journal.Pending);
        }
    }

    public void Dispose() => _abort.Dispose();

    private async Task RunLaneAsync(ChannelReader<JournalEntry> lane, CancellationToken abort)
    {
        var parked = new ParkedCalls();
        var ready = new Dictionary<string, List<JournalEntry>>(StringComparer.Ordinal);
        var order = new List<string>();
        Task<bool>? waiting = null;
        var open = true;

        // A writer starts as a woken one: what arrives in its first moments is written together.
        await LingerAsync(open, abort).ConfigureAwait(false);
        while (open || parked.Count > 0)
        {
            var passStarted = _time.GetTimestamp();
            Take(lane, ready, order, parked);
            foreach (var writes in await TryWriteSharedAsync(ready, order, abort).ConfigureAwait(false))
            {
                var callSid = writes.CallSid;
                var failed = await TryWriteAsync(callSid, ready[callSid], abort, writes).ConfigureAwait(false);
                if (failed is not null)
                {
                    Park(parked, callSid, failed, null);
                }
            }

            var wrote = order.Count > 0;
            ready.Clear();
            order.Clear();
            wrote |= await RetryDueAsync(parked, abort).ConfigureAwait(false);
            if (wrote)
            {
                await PaceAsync(lane, passStarted, open, abort).ConfigureAwait(false);
                continue;
            }

            // Nothing to do now: wait for new entries, or for the next parked call's retry. With as many entries
            // waiting for retry as the lane holds, nothing more is taken: the lane fills up, and then the journal
            // refuses new entries (logged), as it does when the store is down for long.
            TimeSpan? untilRetry = parked.Count == 0 ? null : NextDue(parked);
            if (open && parked.Entries < _journal.LaneCapacity)
            {
                waiting ??= lane.WaitToReadAsync(abort).AsTask();
                if (untilRetry is null)
                {
                    open = await waiting.ConfigureAwait(false);
                    waiting = null;
                    await LingerAsync(open, abort).ConfigureAwait(false);
                    continue;
                }

                using var timer = CancellationTokenSource.CreateLinkedTokenSource(abort);
                var delay = Task.Delay(untilRetry.Value, _time, timer.Token);
                if (await Task.WhenAny(waiting, delay).ConfigureAwait(false) == waiting)
                {
                    await timer.CancelAsync().ConfigureAwait(false);
                    open = await waiting.ConfigureAwait(false);
                    waiting = null;
                    await LingerAsync(open, abort).ConfigureAwait(false);
                }

                abort.ThrowIfCancellationRequested();
            }
            else
            {
                await Task.Delay(untilRetry!.Value, _time, abort).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Woken from idle by a new entry, waits <see cref="PersistenceOptions.Linger"/> for more, so that one request
    /// carries many calls' turns instead of one request each (nobody waits on a write-behind; a crash loses at most
    /// this much more).
    /// </summary>
    private Task LingerAsync(bool open, CancellationToken abort) =>
        open && _options.Linger > TimeSpan.Zero ? Task.Delay(_options.Linger, _time, abort) : Task.CompletedTask;

    /// <summary>
    /// Under load the lane never idles, so the linger alone would not gather anything: each pass would take the few
    /// entries that arrived during the last one's round trip (7 items per BatchWriteItem at 700 calls, and a request
    /// per call whose one message had nobody to share with). A pass that wrote therefore starts the next one no sooner
    /// than <see cref="PersistenceOptions.Linger"/> after it began, unless a whole batch is already waiting or the
    /// writer is draining: entries wait no longer than a linger plus a pass, as a first entry does after idle.
    /// </summary>
    private Task PaceAsync(ChannelReader<JournalEntry> lane, long passStarted, bool open, CancellationToken abort)
    {
        if (!open || _draining.Task.IsCompleted || _options.Linger <= TimeSpan.Zero || (lane.CanCount && lane.Count >= _options.BatchSize))
        {
            return Task.CompletedTask;
        }

        // A drain that begins meanwhile ends the wait: what is queued is written at once.
        var left = _options.Linger - _time.GetElapsedTime(passStarted);
        return left > TimeSpan.Zero ? Task.WhenAny(Task.Delay(left, _time, abort), _draining.Task) : Task.CompletedTask;
    }

    /// <summary>Moves what is queued into per-call groups, in order; entries of a parked call join its parked ones.</summary>
    private void Take(ChannelReader<JournalEntry> lane, Dictionary<string, List<JournalEntry>> ready, List<string> order, ParkedCalls parked)
    {
        // What is taken may all end up parked (the store is down): parked and taken together stay within a lane's worth.
        for (var taken = 0; taken < _options.BatchSize && parked.Entries + taken < _journal.LaneCapacity && lane.TryRead(out var entry); taken++)
        {
            if (parked.TryGetValue(entry.CallSid, out var waiting))
            {
                waiting.Entries.Add(entry);
                parked.Entries++;
                continue;
            }

            if (entry is WrittenMarkEntry mark && !ready.ContainsKey(entry.CallSid))
            {
                // Nothing of the call is waiting in this lane: what came before the mark is written.
                Pass(mark);
                continue;
            }

            if (!ready.TryGetValue(entry.CallSid, out var group))
            {
                ready[entry.CallSid] = group = [];
                order.Add(entry.CallSid);
            }

            group.Add(entry);
        }
    }

    private async Task<bool> RetryDueAsync(ParkedCalls parked, CancellationToken abort)
    {
        if (parked.Count == 0)
        {
            return false;
        }

        var now = _time.GetTimestamp();
        var retried = false;
        foreach (var (callSid, waiting) in parked.ToList())
        {
            if (waiting.DueAt > now)
            {
                continue;
            }

            retried = true;
            parked.Remove(callSid);
            parked.Entries -= waiting.Entries.Count;
            var failed = await TryWriteAsync(callSid, waiting.Entries, abort).ConfigureAwait(false);
            if (failed is null)
            {
                Log.Recovered(_logger, LogIds.Call(callSid), waiting.Attempts + 1);
            }
            else
            {
                Park(parked, callSid, failed, waiting);
            }
        }

        return retried;
    }

    private void Park(ParkedCalls parked, string callSid, List<JournalEntry> entries, Parked? before)
    {
        var delay = before is null
            ? _options.FirstRetryDelay
            : TimeSpan.FromTicks(Math.Min(before.Delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
        var attempts = (before?.Attempts ?? 0) + 1;
        parked[callSid] = new Parked(entries, delay, _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency), attempts);
        parked.Entries += entries.Count;
        Log.WriteDelayed(_logger, LogIds.Call(callSid), entries.Count, attempts, delay);
    }

    private TimeSpan NextDue(ParkedCalls parked)
    {
        var due = long.MaxValue;
        foreach (var waiting in parked.Values)
        {
            due = Math.Min(due, waiting.DueAt);
        }

        var now = _time.GetTimestamp();
        return due <= now ? TimeSpan.Zero : TimeSpan.FromSeconds((due - now) / (double)_time.TimestampFrequency);
    }

    /// <summary>
    /// Offers every ready call's writes to the store's shared requests, and returns the calls still to write one by
    /// one: those the store left, or all of them when a shared request failed (each is then written, and if need be
    /// isolated and retried, on its own).
    /// </summary>
    private async Task<IReadOnlyList<CallWrites>> TryWriteSharedAsync(Dictionary<string, List<JournalEntry>> ready, List<string> order, CancellationToken abort)
    {
        var writes = new List<CallWrites>(order.Count);
        foreach (var callSid in order)
        {
            writes.Add(JournalEntries.Coalesce(callSid, ready[callSid]));
        }

        if (writes.Count == 0)
        {
            return writes;
        }

        try
        {
            var left = await _repository.WriteSharedAsync(writes, abort).ConfigureAwait(false);
            if (left.Count == writes.Count)
            {
                return writes;
            }

            // The calls left are some of these very objects: told apart by reference (a record's own hash walks every field).
            var leftOver = new HashSet<CallWrites>(left, ReferenceEqualityComparer.Instance);
            var shared = writes.Where(w => !leftOver.Contains(w)).ToList();
            _batchItems.Record(shared.Sum(w => w.Count));
            _journal.Written(shared.Sum(w => ready[w.CallSid].Count));
            foreach (var written in shared)
            {
                JournalEntries.Settle(ready[written.CallSid]);
            }

            return left;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !abort.IsCancellationRequested)
        {
            Log.SharedWriteFailed(_logger, ex, writes.Count, ex.GetType().Name);
            return writes;
        }
    }

    /// <summary>
    /// Writes one call's entries in one request. Returns null when every entry was stored or set aside; otherwise the
    /// entries, in order, that failed for now and must be retried.
    /// </summary>
    private async Task<List<JournalEntry>?> TryWriteAsync(string callSid, List<JournalEntry> entries, CancellationToken abort, CallWrites? coalesced = null)
    {
        try
        {
            var writes = coalesced ?? JournalEntries.Coalesce(callSid, entries);
            await _repository.WriteAsync(writes, abort).ConfigureAwait(false);
            _batchItems.Record(writes.Count);
            _journal.Written(entries.Count);
            JournalEntries.Settle(entries);
            return null;
        }
        catch (StoreRejectedException) when (entries.Count > 1)
        {
            // One of them is poison: write them one by one, so only that one is set aside.
            for (var i = 0; i < entries.Count; i++)
            {
                if (entries[i] is WrittenMarkEntry mark)
                {
                    Pass(mark);
                    continue;
                }

                try
                {
                    await _repository.WriteAsync(JournalEntries.Coalesce(callSid, [entries[i]]), abort).ConfigureAwait(false);
                    _journal.Written(1);
                }
                catch (StoreRejectedException ex)
                {
                    await SetAsideAsync(entries[i], ex).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !abort.IsCancellationRequested)
                {
                    Log.WriteFailed(_logger, ex, LogIds.Call(callSid), ex.GetType().Name);
                    return entries[i..];
                }
            }

            return null;
        }
        catch (StoreRejectedException ex)
        {
            await SetAsideAsync(entries[0], ex).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !abort.IsCancellationRequested)
        {
            Log.WriteFailed(_logger, ex, LogIds.Call(callSid), ex.GetType().Name);
            return entries;
        }
    }

    /// <summary>A write mark reached with everything of its call before it written: it leaves the journal, done.</summary>
    private void Pass(WrittenMarkEntry mark)
    {
        _journal.Written(1);
        mark.Done.TrySetResult();
    }

    private async Task SetAsideAsync(JournalEntry entry, StoreRejectedException rejection)
    {
        _journal.Written(1);
        _deadLettered.Add(1, new KeyValuePair<string, object?>("entry", entry.GetType().Name));
        Log.DeadLettered(_logger, LogIds.Call(entry.CallSid), entry.GetType().Name, entry.Items, rejection.InnerException?.GetType().Name ?? nameof(StoreRejectedException));
        try
        {
            await _deadLetters.AddAsync(DeadLetters.Format(entry, rejection.Message, _time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.DeadLetterLost(_logger, ex, LogIds.Call(entry.CallSid), entry.GetType().Name);
        }
    }

    /// <summary>A call whose writes failed for now: its entries in order, the backoff, when to try again.</summary>
    private sealed record Parked(List<JournalEntry> Entries, TimeSpan Delay, long DueAt, int Attempts);

    /// <summary>A lane's parked calls, and how many entries they hold between them.</summary>
    private sealed class ParkedCalls : Dictionary<string, Parked>
    {
        public ParkedCalls()
            : base(StringComparer.Ordinal)
        {
        }

        public int Entries { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Writing call {CallSid} failed ({Error}); its writes wait, other calls go on")]
        public static partial void WriteFailed(ILogger logger, Exception exception, string callSid, string error);

        [LoggerMessage(EventId = 3014, Level = LogLevel.Information, Message = "Call {CallSid}: {Entries} journal entries wait for retry {Attempt} in {Delay}")]
        public static partial void WriteDelayed(ILogger logger, string callSid, int entries, int attempt, TimeSpan delay);

        [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Wrote call {CallSid}'s waiting entries after {Attempt} attempts")]
        public static partial void Recovered(ILogger logger, string callSid, int attempt);

        [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Draining {Pending} journal entries before shutdown")]
        public static partial void Draining(ILogger logger, int pending);

        [LoggerMessage(EventId = 3013, Level = LogLevel.Error, Message = "Shutdown timeout reached with {Pending} journal entries unwritten")]
        public static partial void DrainAbandoned(ILogger logger, int pending);

        [LoggerMessage(EventId = 3015, Level = LogLevel.Error, Message = "Call {CallSid}: the store refused {Entry} ({Items} items) for good ({Error}); set aside as a dead letter for replay")]
        public static partial void DeadLettered(ILogger logger, string callSid, string entry, int items, string error);

        [LoggerMessage(EventId = 3016, Level = LogLevel.Critical, Message = "Call {CallSid}: a dead letter ({Entry}) could not be kept; the write is lost")]
        public static partial void DeadLetterLost(ILogger logger, Exception exception, string callSid, string entry);

        [LoggerMessage(EventId = 3017, Level = LogLevel.Information, Message = "A shared write of {Calls} calls failed ({Error}); each is written on its own")]
        public static partial void SharedWriteFailed(ILogger logger, Exception exception, int calls, string error);
    }
}
