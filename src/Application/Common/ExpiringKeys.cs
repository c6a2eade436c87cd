using System.Collections.Concurrent;

namespace VoiceAgent.Application.Common;

/// <summary>
/// A set of keys, each held until its expiry: <see cref="TryAdd"/> refuses a key already held. Expired keys are swept
/// every 1,024 adds, so the set stays bounded by what is added within one expiry. Thread-safe.
/// </summary>
public sealed class ExpiringKeys(TimeProvider time)
{
    private const int AddsPerSweep = 1_024;

    private readonly ConcurrentDictionary<string, DateTimeOffset> _keys = new(StringComparer.Ordinal);
    private int _sinceSweep;

    /// <summary>False when <paramref name="key"/> is already held.</summary>
    public bool TryAdd(string key, DateTimeOffset expiresAt)
    {
        var added = _keys.TryAdd(key, expiresAt);
        if (Interlocked.Increment(ref _sinceSweep) >= AddsPerSweep)
        {
            Interlocked.Exchange(ref _sinceSweep, 0);
            var now = time.GetUtcNow();
            foreach (var (held, expiry) in _keys)
            {
                if (expiry < now)
                {
                    _keys.TryRemove(held, out _);
                }
            }
        }

        return added;
    }

    /// <summary>Whether <paramref name="key"/> is held and has not expired.</summary>
    public bool Contains(string key) => _keys.TryGetValue(key, out var expiry) && expiry >= time.GetUtcNow();

    /// <summary>Lets <paramref name="key"/> be added again.</summary>
    public void Remove(string key) => _keys.TryRemove(key, out _);
}
