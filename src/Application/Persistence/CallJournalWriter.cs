using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;

namespace VoiceAgent.Application.Persistence;

/// <summary>
/// Drains the journal into the repository: each call's writes in order, the lanes of different calls in
/// parallel (Persistence:Writers). A failed write is retried with backoff until it lands,
/// so a store outage delays writes but loses none. On shutdown the queue is drained until the host's
/// shutdown timeout.
/// </summary>
internal sealed partial class CallJournalWriter(
    CallJournal journal,
    ICallRepository repository,
    TimeProvider timeProvider,
    IOptions<PersistenceOptions> options,
    ILogger<CallJournalWriter> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _abort = new();
    private Task? _loop;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_abort.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        journal.Complete();
        if (_loop is null)
        {
            return;
        }

        Log.Draining(logger, journal.Pending);
        using var registration = cancellationToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), _abort);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Log.DrainAbandoned(logger, journal.Pending);
        }
    }

    public void Dispose() => _abort.Dispose();

    private Task RunAsync(CancellationToken abort) =>
        Task.WhenAll(journal.Lanes.Select(lane => Task.Run(() => RunLaneAsync(lane, abort), CancellationToken.None)));

    private async Task RunLaneAsync(System.Threading.Channels.ChannelReader<JournalEntry> lane, CancellationToken abort)
    {
        await foreach (var entry in lane.ReadAllAsync(abort).ConfigureAwait(false))
        {
            await WriteWithRetryAsync(entry, abort).ConfigureAwait(false);
            journal.Written();
        }
    }

    private async Task WriteWithRetryAsync(JournalEntry entry, CancellationToken abort)
    {
        var delay = options.Value.FirstRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteAsync(entry, abort).ConfigureAwait(false);
                if (attempt > 1)
                {
                    Log.Recovered(logger, entry.GetType().Name, entry.CallSid, attempt);
                }

                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !abort.IsCancellationRequested)
            {
                Log.WriteFailed(logger, ex, entry.GetType().Name, entry.CallSid, attempt, delay);
                await Task.Delay(delay, timeProvider, abort).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.Value.MaxRetryDelay.Ticks));
            }
        }
    }

    private Task WriteAsync(JournalEntry entry, CancellationToken ct) => entry switch
    {
        CallCreatedEntry e => repository.TryAddAsync(e.Call, ct),
        CallChangedEntry e => repository.SaveAsync(e.Call, ct),
        MessagesSavedEntry e => repository.SaveMessagesAsync(e.Sid, e.Messages, ct),
        MessageRemovedEntry e => repository.DeleteMessageAsync(e.Sid, e.Index, ct),
        ToolCallEntry e => repository.SaveToolCallAsync(e.ToolCall, ct),
        _ => throw new InvalidOperationException($"Unknown journal entry {entry.GetType().Name}."),
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Writing {Entry} for call {CallSid} failed (attempt {Attempt}); retrying in {Delay}")]
        public static partial void WriteFailed(ILogger logger, Exception exception, string entry, string callSid, int attempt, TimeSpan delay);

        [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Wrote {Entry} for call {CallSid} after {Attempt} attempts")]
        public static partial void Recovered(ILogger logger, string entry, string callSid, int attempt);

        [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Draining {Pending} journal entries before shutdown")]
        public static partial void Draining(ILogger logger, int pending);

        [LoggerMessage(EventId = 3013, Level = LogLevel.Error, Message = "Shutdown timeout reached with {Pending} journal entries unwritten")]
        public static partial void DrainAbandoned(ILogger logger, int pending);
    }
}
