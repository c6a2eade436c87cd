using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace VoiceAgent.Api.Endpoints;

/// <summary>
/// The answers given to Twilio's session-end callbacks, kept for a while: a callback Twilio sends again (its first
/// answer was lost, or it retried) gets the very same TwiML — the same relay ticket for a reconnect — and its
/// side effects are not done twice. Identical callbacks that arrive together share one computation.
/// Across instances the stored call makes the handling idempotent instead.
/// </summary>
internal sealed class ActionReplies(TimeProvider time)
{
    private const int MaxEntries = 20_000;
    private static readonly TimeSpan Keep = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, Entry> _answers = new(StringComparer.Ordinal);

    public async Task<string> GetOrAnswerAsync(IEnumerable<string?> request, Func<Task<string>> answer)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(answer);
        var key = Key(request);
        var now = time.GetTimestamp();
        var entry = _answers.GetOrAdd(key, static (_, state) => new Entry(new Lazy<Task<string>>(state.answer), state.now), (answer, now));
        try
        {
            return await entry.Answer.Value.ConfigureAwait(false);
        }
        catch
        {
            // A failure is not an answer: the next callback tries again.
            _answers.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            throw;
        }
        finally
        {
            if (_answers.Count > MaxEntries)
            {
                Sweep(now);
            }
        }
    }

    private void Sweep(long now)
    {
        foreach (var (key, entry) in _answers)
        {
            if (time.GetElapsedTime(entry.Added, now) > Keep || _answers.Count > MaxEntries)
            {
                _answers.TryRemove(key, out _);
            }
        }
    }

    private static string Key(IEnumerable<string?> request)
    {
        var text = new StringBuilder();
        foreach (var part in request)
        {
            text.Append(part?.Length ?? -1).Append(':').Append(part).Append('\n');
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private sealed record Entry(Lazy<Task<string>> Answer, long Added);
}
