using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Calls;

/// <summary>
/// Use cases and caller profiles as the call path reads them: from memory, so answering a call needs no store read
/// in steady state and none at all while the store is down.
/// </summary>
public interface ICallDirectory
{
    /// <summary>
    /// The use case, from memory while fresh (Conversation:UseCaseCacheTtl); an expired one is served while a
    /// background read refreshes it, and the last good copy is kept when the store cannot answer.
    /// </summary>
    /// <exception cref="StoredDataException">The stored use case is unreadable and none was read before.</exception>
    Task<UseCase?> GetUseCaseAsync(string useCaseId, CancellationToken cancellationToken);

    /// <summary>
    /// The use case that answers <paramref name="dialledNumber"/> (its <c>phoneNumbers</c>), or null when none does.
    /// Served from an index of every use case's numbers, read from the store and refreshed like the use cases.
    /// </summary>
    Task<string?> FindUseCaseIdForNumberAsync(string dialledNumber, CancellationToken cancellationToken);

    /// <summary>
    /// Reads <paramref name="defaultUseCaseId"/> and the number index (every use case) into memory, so the first
    /// call needs no store read either.
    /// </summary>
    Task WarmAsync(string defaultUseCaseId, CancellationToken cancellationToken);

    /// <summary>
    /// The caller's profile, or null when there is none or the store does not answer within
    /// Conversation:CallerLookupTimeout: the call goes on as an unknown caller rather than wait.
    /// </summary>
    Task<CallerProfile?> FindCallerAsync(string phoneNumber, CancellationToken cancellationToken);
}

internal sealed partial class CallDirectory(
    IUseCaseRepository useCases,
    ICallerProfileRepository profiles,
    TimeProvider time,
    IOptions<ConversationOptions> options,
    ILogger<CallDirectory> logger) : ICallDirectory, IDisposable
{
    /// <summary>After a failed caller look-up, the store is not asked again for this long (calls go on as unknown callers).</summary>
    private static readonly TimeSpan StoreRestAfterFailure = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, Entry<UseCase>> _useCases = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry<CallerProfile>> _callers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _numbersBuild = new(1, 1);
    private Entry<Dictionary<string, string>>? _numbers;
    private long _profilesRestUntil;

    public async Task<UseCase?> GetUseCaseAsync(string useCaseId, CancellationToken cancellationToken)
    {
        var ttl = options.Value.UseCaseCacheTtl;
        if (_useCases.TryGetValue(useCaseId, out var known))
        {
            if (time.GetElapsedTime(known.ReadAt) >= ttl)
            {
                RefreshInBackground(useCaseId, known);
            }

            return known.Value;
        }

        // Only use cases that exist are kept: a missing one is looked for again (it may be seeded any moment).
        var value = await useCases.GetAsync(useCaseId, cancellationToken).ConfigureAwait(false);
        if (value is not null)
        {
            _useCases[useCaseId] = new Entry<UseCase>(value, time.GetTimestamp());
        }

        return value;
    }

    public void Dispose() => _numbersBuild.Dispose();

    public async Task WarmAsync(string defaultUseCaseId, CancellationToken cancellationToken)
    {
        await GetUseCaseAsync(defaultUseCaseId, cancellationToken).ConfigureAwait(false);
        await BuildNumbersOnceAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<string?> FindUseCaseIdForNumberAsync(string dialledNumber, CancellationToken cancellationToken)
    {
        var numbers = Volatile.Read(ref _numbers) ?? await BuildNumbersOnceAsync(cancellationToken).ConfigureAwait(false);
        if (time.GetElapsedTime(numbers.ReadAt) >= options.Value.UseCaseCacheTtl && Interlocked.Exchange(ref numbers.Refreshing, 1) == 0)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await BuildNumbersAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // Keep answering from the last good index.
                    Log.NumbersRefreshFailed(logger, ex);
                }
                finally
                {
                    // A refreshed index replaces this entry; a failed or empty read lets a later call try again.
                    Volatile.Write(ref numbers.Refreshing, 0);
                }
            }, CancellationToken.None);
        }

        return numbers.Value!.GetValueOrDefault(dialledNumber);
    }

    private async Task<Entry<Dictionary<string, string>>> BuildNumbersOnceAsync(CancellationToken cancellationToken)
    {
        await _numbersBuild.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Volatile.Read(ref _numbers) ?? await BuildNumbersAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _numbersBuild.Release();
        }
    }

    /// <summary>
    /// Reads every use case: their numbers become the index, and the use cases themselves are kept like any read one.
    /// A number two use cases claim (only possible by editing the store by hand) goes to the first by id, loudly.
    /// </summary>
    private async Task<Entry<Dictionary<string, string>>> BuildNumbersAsync(CancellationToken cancellationToken)
    {
        var listing = await useCases.ListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var problem in listing.Unreadable)
        {
            Log.UnreadableUseCase(logger, problem);
        }

        var index = new Dictionary<string, string>(StringComparer.Ordinal);
        var now = time.GetTimestamp();
        foreach (var useCase in listing.UseCases.OrderBy(u => u.Id, StringComparer.Ordinal))
        {
            _useCases[useCase.Id] = new Entry<UseCase>(useCase, now);
            foreach (var number in useCase.PhoneNumbers)
            {
                if (!index.TryAdd(number, useCase.Id))
                {
                    Log.NumberClaimedTwice(logger, PhoneNumbers.Mask(number), index[number], useCase.Id);
                }
            }
        }

        // An empty store is not remembered: it is being seeded (the embedded store seeds itself at start).
        var built = new Entry<Dictionary<string, string>>(index, now);
        if (listing.UseCases.Count > 0)
        {
            Volatile.Write(ref _numbers, built);
        }

        return built;
    }

    public async Task<CallerProfile?> FindCallerAsync(string phoneNumber, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (_callers.TryGetValue(phoneNumber, out var known) && time.GetElapsedTime(known.ReadAt) < settings.CallerProfileCacheTtl)
        {
            return known.Value;
        }

        if (time.GetTimestamp() < Volatile.Read(ref _profilesRestUntil))
        {
            return known?.Value;
        }

        var lookup = profiles.FindByPhoneNumberAsync(phoneNumber, CancellationToken.None);
        try
        {
            var value = await lookup.WaitAsync(settings.CallerLookupTimeout, time, cancellationToken).ConfigureAwait(false);
            _callers[phoneNumber] = new Entry<CallerProfile>(value, time.GetTimestamp());
            return value;
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is not OperationCanceledException && ex is not StoredDataException))
        {
            // The store is slow or down: the caller is answered as unknown (or as last known), and the store is
            // left alone for a moment. A late answer still fills the cache.
            Volatile.Write(ref _profilesRestUntil, time.GetTimestamp() + (long)(StoreRestAfterFailure.TotalSeconds * time.TimestampFrequency));
            _ = lookup.ContinueWith(
                (done, state) => ((CallDirectory)state!).Remember(phoneNumber, done),
                this,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            Log.CallerLookupFailed(logger, PhoneNumbers.Mask(phoneNumber), ex.GetType().Name);
            return known?.Value;
        }
    }

    private void Remember(string phoneNumber, Task<CallerProfile?> lookup)
    {
        if (lookup.IsCompletedSuccessfully)
        {
            _callers[phoneNumber] = new Entry<CallerProfile>(lookup.Result, time.GetTimestamp());
        }
    }

    private void RefreshInBackground(string useCaseId, Entry<UseCase> known)
    {
        if (Interlocked.Exchange(ref known.Refreshing, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var value = await useCases.GetAsync(useCaseId, CancellationToken.None).ConfigureAwait(false);
                if (value is null)
                {
                    _useCases.TryRemove(useCaseId, out _);
                }
                else
                {
                    _useCases[useCaseId] = new Entry<UseCase>(value, time.GetTimestamp());
                }
            }
            catch (Exception ex)
            {
                // Keep serving the last good copy; try again on a later call.
                Log.UseCaseRefreshFailed(logger, ex, useCaseId);
                Volatile.Write(ref known.Refreshing, 0);
            }
        });
    }

    private sealed class Entry<T>(T? value, long readAt)
        where T : class
    {
        public int Refreshing;

        public T? Value { get; } = value;

        public long ReadAt { get; } = readAt;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "Caller profile of {Caller} not read ({Error}); answering as an unknown caller")]
        public static partial void CallerLookupFailed(ILogger logger, string caller, string error);

        [LoggerMessage(EventId = 1023, Level = LogLevel.Warning, Message = "The dialled-number index could not be refreshed; answering from the last good one")]
        public static partial void NumbersRefreshFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1024, Level = LogLevel.Error, Message = "A stored use case is unreadable and answers no number: {Problem}")]
        public static partial void UnreadableUseCase(ILogger logger, string problem);

        [LoggerMessage(EventId = 1025, Level = LogLevel.Error, Message = "Number {Number} is listed by use cases {Kept} and {Ignored}; calls to it go to {Kept}")]
        public static partial void NumberClaimedTwice(ILogger logger, string number, string kept, string ignored);

        [LoggerMessage(EventId = 1021, Level = LogLevel.Warning, Message = "Use case {UseCaseId} could not be refreshed; serving the last good copy")]
        public static partial void UseCaseRefreshFailed(ILogger logger, Exception exception, string useCaseId);
    }
}

/// <summary>Reads the default use case and the number index into memory at start, so the first call needs no store read either.</summary>
internal sealed partial class CallDirectoryWarmup(ICallDirectory directory, IOptions<ConversationOptions> options, ILogger<CallDirectoryWarmup> logger)
    : Microsoft.Extensions.Hosting.IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await directory.WarmAsync(options.Value.DefaultUseCaseId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not fatal: the first call reads it.
            Log.WarmupFailed(logger, ex, options.Value.DefaultUseCaseId);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1022, Level = LogLevel.Warning, Message = "The default use case {UseCaseId} could not be read at start; the first call will read it")]
        public static partial void WarmupFailed(ILogger logger, Exception exception, string useCaseId);
    }
}
