using System.Collections.Concurrent;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Infrastructure.Persistence.Embedded;

/// <summary>Module records in memory, per collection, in key order; an expired record is gone and its key free.</summary>
internal sealed class EmbeddedRecordStore(TimeProvider timeProvider) : IRecordStore
{
    private readonly ConcurrentDictionary<string, SortedDictionary<string, Entry>> _collections = new(StringComparer.Ordinal);

    public Task<bool> TryAddAsync(string collection, string key, string json, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var records = Collection(collection);
        var now = timeProvider.GetUtcNow();
        lock (records)
        {
            if (records.TryGetValue(key, out var existing) && !existing.IsExpired(now))
            {
                return Task.FromResult(false);
            }

            records[key] = new Entry(json, expiresAt);
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlyList<StoredRecord>> ListAsync(string collection, string keyPrefix, CancellationToken cancellationToken)
    {
        var records = Collection(collection);
        var now = timeProvider.GetUtcNow();
        lock (records)
        {
            return Task.FromResult<IReadOnlyList<StoredRecord>>(
                [.. records.Where(r => r.Key.StartsWith(keyPrefix, StringComparison.Ordinal) && !r.Value.IsExpired(now)).Select(r => new StoredRecord(r.Key, r.Value.Json))]);
        }
    }

    public Task<bool> TryDeleteAsync(string collection, string key, CancellationToken cancellationToken)
    {
        var records = Collection(collection);
        var now = timeProvider.GetUtcNow();
        lock (records)
        {
            return Task.FromResult(records.Remove(key, out var removed) && !removed.IsExpired(now));
        }
    }

    private SortedDictionary<string, Entry> Collection(string name) =>
        _collections.GetOrAdd(name, static _ => new SortedDictionary<string, Entry>(StringComparer.Ordinal));

    private sealed record Entry(string Json, DateTimeOffset? ExpiresAt)
    {
        public bool IsExpired(DateTimeOffset now) => ExpiresAt <= now;
    }
}
