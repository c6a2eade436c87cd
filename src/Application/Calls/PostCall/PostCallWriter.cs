using System.ComponentModel.DataAnnotations;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Application.Calls.PostCall;

/// <summary>The post-call job's settings ("PostCall").</summary>
public sealed class PostCallOptions
{
    public const string SectionName = "PostCall";

    public bool Enabled { get; set; } = true;

    /// <summary>How long after a call's end its record is first tried (its end travels through the write-behind journal).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "PostCall:FirstAttemptAfter must be between 0 and 10 min.")]
    public TimeSpan FirstAttemptAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Attempts per call before it is left to the sweep.</summary>
    [Range(1, 10, ErrorMessage = "PostCall:Attempts must be between 1 and 10.")]
    public int Attempts { get; set; } = 4;

    /// <summary>The wait before the second attempt; doubled for each one after.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "PostCall:RetryAfter must be between 10 ms and 10 min.")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Records written at once.</summary>
    [Range(1, 64, ErrorMessage = "PostCall:Concurrency must be between 1 and 64.")]
    public int Concurrency { get; set; } = 4;

    /// <summary>
    /// How often today's and yesterday's calls are swept for ended calls without a record (their instance stopped
    /// first, or every attempt failed); zero turns the sweep off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "PostCall:SweepInterval must be between 0 and 1 day.")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a call must have been over before the sweep takes it (its own instance records it first).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "PostCall:SweepAfter must be between 0 and 1 day.")]
    public TimeSpan SweepAfter { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Calls whose post-call record is due.</summary>
public interface IPostCallRecords
{
    /// <summary>Asks for the call's record; harmless when it has one or is asked for twice.</summary>
    void Enqueue(string callSid);
}

/// <summary>
/// Writes post-call records off every hot path: calls queued at their end (and found by a periodic sweep) are
/// recorded a few at a time, each retried with a doubling wait; recording is idempotent.
/// </summary>
internal sealed partial class PostCallWriter(
    PostCallRecorder recorder,
    ICallRepository calls,
    TimeProvider timeProvider,
    IOptions<PostCallOptions> options,
    ILogger<PostCallWriter> logger) : BackgroundService, IPostCallRecords
{
    private const int Capacity = 10_000;

    private readonly Channel<string> _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Enqueue(string callSid)
    {
        if (options.Value.Enabled && !_queue.Writer.TryWrite(callSid))
        {
            // The sweep finds it later.
            Log.QueueFull(logger, LogIds.Call(callSid));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var sweep = options.Value.SweepInterval > TimeSpan.Zero ? SweepAsync(stoppingToken) : Task.CompletedTask;
        using var slots = new SemaphoreSlim(options.Value.Concurrency);
        var running = new List<Task>();
        try
        {
            await foreach (var callSid in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(RecordWithRetriesAsync(callSid, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what is not recorded now is found by the next sweep.
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        await sweep.ConfigureAwait(false);
    }

    private async Task RecordWithRetriesAsync(string callSid, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            var wait = options.Value.FirstAttemptAfter;
            for (var attempt = 1; attempt <= options.Value.Attempts; attempt++)
            {
                await Task.Delay(wait, timeProvider, stoppingToken).ConfigureAwait(false);
                wait = attempt == 1 ? options.Value.RetryAfter : wait * 2;
                try
                {
                    if (await recorder.RecordAsync(callSid, stoppingToken).ConfigureAwait(false) != PostCallResult.NotYet)
                    {
                        return;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    Log.AttemptFailed(logger, ex, LogIds.Call(callSid), attempt);
                }
            }

            Log.GaveUp(logger, LogIds.Call(callSid), options.Value.Attempts);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>Queues today's and yesterday's ended calls that have no record and ended more than SweepAfter ago.</summary>
    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(options.Value.SweepInterval, timeProvider, stoppingToken).ConfigureAwait(false);
                try
                {
                    await SweepOnceAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.SweepFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    internal async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var queued = 0;
        foreach (var day in new[] { today.AddDays(-1), today })
        {
            string? after = null;
            for (var page = 0; page < 1_000; page++)
            {
                var listed = await calls.ListDayAsync(day, after, 200, cancellationToken).ConfigureAwait(false);
                foreach (var call in listed.Items)
                {
                    if (call is { IsEnded: true, Record: null, EndedAt: { } ended } && now - ended >= options.Value.SweepAfter)
                    {
                        Enqueue(call.CallSid);
                        queued++;
                    }
                }

                if ((after = listed.Next) is null)
                {
                    break;
                }
            }
        }

        return queued;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1410, Level = LogLevel.Warning, Message = "Call {CallSid}: post-call record attempt {Attempt} failed")]
        public static partial void AttemptFailed(ILogger logger, Exception exception, string callSid, int attempt);

        [LoggerMessage(EventId = 1411, Level = LogLevel.Warning, Message = "Call {CallSid}: no post-call record after {Attempts} attempts; the sweep tries again later")]
        public static partial void GaveUp(ILogger logger, string callSid, int attempts);

        [LoggerMessage(EventId = 1412, Level = LogLevel.Warning, Message = "Call {CallSid}: the post-call queue is full; the sweep records it later")]
        public static partial void QueueFull(ILogger logger, string callSid);

        [LoggerMessage(EventId = 1413, Level = LogLevel.Warning, Message = "The post-call sweep failed; it runs again at its next interval")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}
