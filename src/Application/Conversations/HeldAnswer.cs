using System.Runtime.CompilerServices;
using System.Threading.Channels;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// A preemptive answer: the model started on a partial prompt that stayed the same for a moment, while Twilio waits
/// for the end of speech. Its events are held — nothing is spoken, no tool runs, the history does not change — until
/// the final prompt confirms the words (<see cref="ReleaseAsync"/>) or differs (<see cref="Dispose"/> cancels the
/// model call). A failure before the release makes it a miss: the final prompt is answered afresh.
/// </summary>
internal sealed class HeldAnswer : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly CancellationToken _token;
    private readonly Channel<ModelStreamEvent> _events = Channel.CreateUnbounded<ModelStreamEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private volatile bool _failed;
    private int _released;

    private HeldAnswer(string key, long startedAt, CancellationToken sessionToken)
    {
        Key = key;
        StartedAt = startedAt;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(sessionToken);
        _token = _cancel.Token;
    }

    /// <summary>The normalised words it answers.</summary>
    public string Key { get; }

    /// <summary>When the model was asked (TimeProvider timestamp).</summary>
    public long StartedAt { get; }

    /// <summary>The model call failed before the release: not worth releasing.</summary>
    public bool Failed => _failed;

    public static HeldAnswer Start(ILanguageModel model, ModelRequest request, string key, long startedAt, CancellationToken sessionToken)
    {
        var held = new HeldAnswer(key, startedAt, sessionToken);
        _ = held.PumpAsync(model, request);
        return held;
    }

    /// <summary>The held events at once, then the rest as they come; <paramref name="cancellationToken"/> (the turn's) stops the model call.</summary>
    public async IAsyncEnumerable<ModelStreamEvent> ReleaseAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            throw new InvalidOperationException("A held answer is released once.");
        }

        try
        {
            using var stop = cancellationToken.UnsafeRegister(static state => ((HeldAnswer)state!).Cancel(), this);
            await foreach (var streamEvent in _events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return streamEvent;
            }
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>
    /// Drops the answer: the model call is cancelled, what it held is discarded, and its link to the session is
    /// released. Never from inside the cancellation's own callbacks (a source disposed while it cancels skips the
    /// callbacks still to run).
    /// </summary>
    public void Dispose()
    {
        Cancel();
        _cancel.Dispose();
    }

    private void Cancel()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The model call has ended and released its source: nothing to stop.
        }
    }

    private async Task PumpAsync(ILanguageModel model, ModelRequest request)
    {
        try
        {
            // Yield first: the loop that started it goes on at once.
            await Task.Yield();
            await foreach (var streamEvent in model.StreamAsync(request, _token).ConfigureAwait(false))
            {
                await _events.Writer.WriteAsync(streamEvent, _token).ConfigureAwait(false);
            }

            _events.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            _failed = Volatile.Read(ref _released) == 0;
            _events.Writer.TryComplete(ex);
        }
    }
}
