using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Infrastructure.Llm.Bedrock;

/// <summary>
/// <see cref="ILanguageModel"/> on Bedrock ConverseStream with a fallback across the use case's inference
/// profiles. Each profile has its own Polly pipeline (retry with jitter on throttling and 5xx, then a circuit
/// breaker). A profile that gives no first token within the first-token timeout is abandoned for the next.
/// Fallback happens only before the first token reached the caller; after it, a failure surfaces to the turn,
/// which speaks a short recovery line and never repeats the answer. With hedging on, a slow first profile
/// gets company from the second and the first token wins.
/// </summary>
internal sealed partial class BedrockLanguageModel(
    ConverseStreamClient client,
    BedrockOptions options,
    BedrockMetrics metrics,
    TimeProvider timeProvider,
    ILogger<BedrockLanguageModel> logger) : ILanguageModel
{
    private readonly ConcurrentDictionary<string, ResiliencePipeline<OpenedStream>> _pipelines = new(StringComparer.Ordinal);

    /// <summary>Profiles that refused cache points: asked without them from then on.</summary>
    private readonly ConcurrentDictionary<string, bool> _noCachePoints = new(StringComparer.Ordinal);

    public async IAsyncEnumerable<ModelStreamEvent> StreamAsync(
        ModelRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var profiles = request.Settings.InferenceProfiles.Count > 0 ? request.Settings.InferenceProfiles : options.DefaultInferenceProfiles;
        if (profiles.Count == 0)
        {
            throw new LanguageModelUnavailableException("No inference profile: set model.inferenceProfiles on the use case or Bedrock:DefaultInferenceProfiles.");
        }

        var opened = await OpenAsync(profiles, request, cancellationToken).ConfigureAwait(false);
        var fallbacks = Math.Max(0, IndexOf(profiles, opened.Profile));
        await using (opened)
        {
            yield return opened.First is ModelCompleted done ? done with { Fallbacks = fallbacks } : opened.First;
            while (true)
            {
                bool more;
                try
                {
                    more = await opened.NextAsync(options.StreamStallTimeout).ConfigureAwait(false);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && opened.MidStreamFailure(ex, options.StreamStallTimeout) is { } failure)
                {
                    await ReportToBreakerAsync(opened.Profile, failure).ConfigureAwait(false);
                    throw failure;
                }

                if (!more)
                {
                    break;
                }

                if (opened.Events.Current is ModelCompleted completed)
                {
                    if (completed.Usage is { } usage)
                    {
                        metrics.Tokens(opened.Profile, usage);
                    }

                    yield return completed with { Fallbacks = fallbacks };
                    continue;
                }

                yield return opened.Events.Current;
            }
        }
    }

    private static int IndexOf(IReadOnlyList<string> profiles, string profile)
    {
        for (var i = 0; i < profiles.Count; i++)
        {
            if (string.Equals(profiles[i], profile, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// A profile failed after its first token (a stall, an exception frame): too late to fall back, but the failure
    /// counts against that profile's circuit breaker like one before the first token. Polly's breaker learns of
    /// outcomes only through its pipeline, so the failure is passed through it once, marked so the retry ignores it.
    /// </summary>
    private async Task ReportToBreakerAsync(string profile, BedrockException failure)
    {
        metrics.Failure(profile, failure.Kind.ToString());
        Log.FailedMidStream(logger, profile, failure.Kind.ToString(), failure.Message);
        var context = ResilienceContextPool.Shared.Get();
        context.Properties.Set(ReportOnly, true);
        try
        {
            await _pipelines.GetOrAdd(profile, BuildPipeline).ExecuteAsync(
                static (_, state) => ValueTask.FromException<OpenedStream>(state), context, failure).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is BedrockException or BrokenCircuitException)
        {
            // Expected: the failure itself, or the circuit it has just opened.
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static readonly ResiliencePropertyKey<bool> ReportOnly = new("voiceagent.report-only");

    /// <summary>Finds a profile that produces a first event, in order (with hedging, the first two race).</summary>
    private async Task<OpenedStream> OpenAsync(IReadOnlyList<string> profiles, ModelRequest request, CancellationToken cancellationToken)
    {
        var failures = new List<Exception>();
        var next = 0;
        if (options.HedgingEnabled && profiles.Count > 1)
        {
            var (winner, tried) = await HedgeAsync(profiles, request, failures, cancellationToken).ConfigureAwait(false);
            if (winner is not null)
            {
                return winner;
            }

            next = tried;
        }

        for (var i = next; i < profiles.Count; i++)
        {
            var opened = await TryProfileAsync(profiles, i, request, failures, cancellationToken).ConfigureAwait(false);
            if (opened is not null)
            {
                return opened;
            }
        }

        throw new LanguageModelUnavailableException(
            $"Every inference profile failed ({string.Join(", ", profiles)}).",
            new AggregateException(failures));
    }

    private async Task<(OpenedStream? Winner, int Tried)> HedgeAsync(
        IReadOnlyList<string> profiles, ModelRequest request, List<Exception> failures, CancellationToken cancellationToken)
    {
        using var primaryCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var secondaryCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var primary = TryProfileAsync(profiles, 0, request, failures, primaryCancel.Token);
        var delay = Task.Delay(options.HedgingDelay, timeProvider, cancellationToken);
        if (await Task.WhenAny(primary, delay).ConfigureAwait(false) == primary)
        {
            return (await primary.ConfigureAwait(false), 1);
        }

        cancellationToken.ThrowIfCancellationRequested();
        metrics.Hedged(profiles[1]);
        Log.Hedging(logger, profiles[0], profiles[1]);
        var secondary = TryProfileAsync(profiles, 1, request, failures, secondaryCancel.Token);
        var first = await Task.WhenAny(primary, secondary).ConfigureAwait(false);
        var other = first == primary ? secondary : primary;
        var winner = await first.ConfigureAwait(false);
        if (winner is not null)
        {
            await (first == primary ? secondaryCancel : primaryCancel).CancelAsync().ConfigureAwait(false);
            await DiscardAsync(other).ConfigureAwait(false);
            return (winner, 2);
        }

        return (await other.ConfigureAwait(false), 2);
    }

    /// <summary>Waits for the losing attempt of a hedge to stop, and releases its stream if it opened anyway.</summary>
    private static async Task DiscardAsync(Task<OpenedStream?> loser)
    {
        try
        {
            if (await loser.ConfigureAwait(false) is { } opened)
            {
                await opened.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Cancelled because the other profile won: expected.
        }
    }

    /// <summary>One profile through its pipeline; null (with the failure noted) when it cannot answer.</summary>
    private async Task<OpenedStream?> TryProfileAsync(
        IReadOnlyList<string> profiles, int index, ModelRequest request, List<Exception> failures, CancellationToken cancellationToken)
    {
        var profile = profiles[index];
        try
        {
            var pipeline = _pipelines.GetOrAdd(profile, BuildPipeline);
            var opened = await pipeline.ExecuteAsync(
                static (state, token) => new ValueTask<OpenedStream>(state.Self.OpenOneAsync(state.Profile, state.Index, state.Request, token)),
                (Self: this, Profile: profile, Index: index, Request: request),
                cancellationToken).ConfigureAwait(false);
            if (index > 0)
            {
                metrics.Fallback(profiles[0], profile);
                Log.FellBack(logger, profiles[0], profile, index);
            }

            return opened;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
        {
            var kind = ex is BedrockException bedrock ? bedrock.Kind.ToString() : ex is BrokenCircuitException ? "CircuitOpen" : ex.GetType().Name;
            metrics.Failure(profile, kind);
            Log.ProfileFailed(logger, profile, kind, ex.Message);
            lock (failures)
            {
                failures.Add(ex);
            }

            return null;
        }
    }

    /// <summary>
    /// Opens the stream with the request's cache points; a profile that refuses them (a model without prompt caching
    /// answers a validation error naming them) is asked again at once without them, and remembered, so the turn is
    /// answered and later turns do not pay the refusal again.
    /// </summary>
    private async Task<OpenedStream> OpenOneAsync(string profile, int index, ModelRequest request, CancellationToken cancellationToken)
    {
        var cachePoints = request.Settings.PromptCaching && !_noCachePoints.ContainsKey(profile);
        try
        {
            return await OpenOneAsync(profile, index, request, cachePoints, cancellationToken).ConfigureAwait(false);
        }
        catch (BedrockException ex) when (cachePoints && RefusesCachePoints(ex))
        {
            _noCachePoints[profile] = true;
            metrics.CachePointsRefused(profile);
            Log.CachePointsRefused(logger, profile, ex.Message);
            return await OpenOneAsync(profile, index, request, cachePoints: false, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static bool RefusesCachePoints(BedrockException exception) =>
        exception.Kind == BedrockErrorKind.Validation
        && (exception.Message.Contains("cachePoint", StringComparison.OrdinalIgnoreCase)
            || exception.Message.Contains("cache point", StringComparison.OrdinalIgnoreCase)
            || exception.Message.Contains("caching", StringComparison.OrdinalIgnoreCase));

    /// <summary>Starts the stream and waits for its first event within the first-token timeout.</summary>
    private async Task<OpenedStream> OpenOneAsync(string profile, int index, ModelRequest request, bool cachePoints, CancellationToken cancellationToken)
    {
        // Both deadlines run on the injected clock, so tests drive them with a fake one.
        var deadline = new CancellationTokenSource(options.FirstTokenTimeout, timeProvider);
        var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var started = timeProvider.GetTimestamp();
        var events = client.StreamAsync(profile, request, cachePoints, lifetime.Token).GetAsyncEnumerator(lifetime.Token);
        try
        {
            if (!await events.MoveNextAsync().ConfigureAwait(false))
            {
                throw new BedrockException(BedrockErrorKind.ModelStreamError, "emptyStream", null, profile, "the stream ended without an event");
            }

            // The first token is on its way to the caller: from here on the whole answer gets the request timeout.
            deadline.CancelAfter(options.RequestTimeout);
            metrics.FirstToken(profile, timeProvider.GetElapsedTime(started).TotalMilliseconds, index);
            return new OpenedStream(profile, events.Current, events, lifetime, deadline, timeProvider);
        }
        catch (Exception ex)
        {
            await events.DisposeAsync().ConfigureAwait(false);
            lifetime.Dispose();
            deadline.Dispose();
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new BedrockException(BedrockErrorKind.FirstTokenTimeout, "firstTokenTimeout", null, profile, $"no first token within {options.FirstTokenTimeout.TotalMilliseconds} ms");
            }

            throw;
        }
    }

    private ResiliencePipeline<OpenedStream> BuildPipeline(string profile)
    {
        var builder = new ResiliencePipelineBuilder<OpenedStream> { TimeProvider = timeProvider };
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<OpenedStream>
            {
                ShouldHandle = args => ValueTask.FromResult(
                    !args.Context.Properties.TryGetValue(ReportOnly, out _)
                    && args.Outcome.Exception is BedrockException { IsTransient: true, Kind: not (BedrockErrorKind.FirstTokenTimeout or BedrockErrorKind.StreamStalled) } or HttpRequestException),
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                OnRetry = args =>
                {
                    Log.Retrying(logger, profile, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<OpenedStream>
        {
            ShouldHandle = new PredicateBuilder<OpenedStream>()
                .Handle<BedrockException>(e => e.IsTransient)
                .Handle<HttpRequestException>(),
            FailureRatio = options.BreakerFailureRatio,
            MinimumThroughput = options.BreakerMinimumThroughput,
            SamplingDuration = options.BreakerSamplingDuration,
            BreakDuration = options.BreakerBreakDuration,
            OnOpened = _ =>
            {
                Log.CircuitOpened(logger, profile, options.BreakerBreakDuration);
                return ValueTask.CompletedTask;
            },
        });
        return builder.Build();
    }

    /// <summary>
    /// A stream that has produced its first event; owns the HTTP response until disposed. A stall timer aborts the read
    /// when the stream goes quiet for too long between events.
    /// </summary>
    private sealed class OpenedStream : IAsyncDisposable
    {
        private readonly CancellationTokenSource _lifetime;
        private readonly CancellationTokenSource _deadline;
        private readonly ITimer _stall;
        private volatile bool _stalled;

        public OpenedStream(string profile, ModelStreamEvent first, IAsyncEnumerator<ModelStreamEvent> events, CancellationTokenSource lifetime, CancellationTokenSource deadline, TimeProvider time)
        {
            _deadline = deadline;
            Profile = profile;
            First = first;
            Events = events;
            _lifetime = lifetime;
            _stall = time.CreateTimer(static state => ((OpenedStream)state!).Stall(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public string Profile { get; }

        public ModelStreamEvent First { get; }

        public IAsyncEnumerator<ModelStreamEvent> Events { get; }

        /// <summary>The next event, which must come within <paramref name="stallTimeout"/>.</summary>
        public async ValueTask<bool> NextAsync(TimeSpan stallTimeout)
        {
            _stall.Change(stallTimeout, Timeout.InfiniteTimeSpan);
            var more = await Events.MoveNextAsync().ConfigureAwait(false);
            _stall.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

            // A read aborted by the stall may end as an empty read rather than a cancellation.
            return _stalled ? throw new OperationCanceledException("The stream stalled.") : more;
        }

        /// <summary>What a failure while streaming means for the profile, or null when it is none of its doing.</summary>
        public BedrockException? MidStreamFailure(Exception exception, TimeSpan stallTimeout) => exception switch
        {
            _ when _stalled => new BedrockException(
                BedrockErrorKind.StreamStalled, "streamStalled", null, Profile, $"no stream event for {stallTimeout.TotalMilliseconds} ms after the first token"),
            BedrockException { IsTransient: true } bedrock => bedrock,
            _ => null,
        };

        public async ValueTask DisposeAsync()
        {
            // Cancelling first aborts the HTTP read at once (barge-in), then the response is released.
            await _stall.DisposeAsync().ConfigureAwait(false);
            await _lifetime.CancelAsync().ConfigureAwait(false);
            await Events.DisposeAsync().ConfigureAwait(false);
            _lifetime.Dispose();
            _deadline.Dispose();
        }

        private void Stall()
        {
            _stalled = true;
            try
            {
                _lifetime.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The stream ended meanwhile.
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "Inference profile {Profile} failed ({Kind}): {Reason}")]
        public static partial void ProfileFailed(ILogger logger, string profile, string kind, string reason);

        [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Answered by fallback profile {Profile} instead of {Preferred} (position {Position})")]
        public static partial void FellBack(ILogger logger, string preferred, string profile, int position);

        [LoggerMessage(EventId = 5103, Level = LogLevel.Information, Message = "Retrying {Profile}, attempt {Attempt}, after {DelayMs} ms")]
        public static partial void Retrying(ILogger logger, string profile, int attempt, double delayMs);

        [LoggerMessage(EventId = 5104, Level = LogLevel.Error, Message = "Circuit for {Profile} opened for {BreakDuration}")]
        public static partial void CircuitOpened(ILogger logger, string profile, TimeSpan breakDuration);

        [LoggerMessage(EventId = 5106, Level = LogLevel.Warning, Message = "Inference profile {Profile} failed after its first token ({Kind}): {Reason}; the answer ends with the recovery line")]
        public static partial void FailedMidStream(ILogger logger, string profile, string kind, string reason);

        [LoggerMessage(EventId = 5107, Level = LogLevel.Warning, Message = "Inference profile {Profile} refused cache points ({Reason}); it is asked without them from now on")]
        public static partial void CachePointsRefused(ILogger logger, string profile, string reason);

        [LoggerMessage(EventId = 5105, Level = LogLevel.Information, Message = "{Primary} is slow to a first token; hedging with {Secondary}")]
        public static partial void Hedging(ILogger logger, string primary, string secondary);
    }
}
