using System.Collections.Concurrent;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Infrastructure.Persistence.Embedded;

/// <summary>Module records in memory, per collection, in key order.</summary>
internal sealed class EmbeddedRecordStore : IRecordStore
{
    private readonly ConcurrentDictionary<string, SortedDictionary<string, string>> _collections = new(StringComparer.Ordinal);

    public Task<bool> TryAddAsync(string collection, string key, string json, CancellationToken cancellationToken)
    {
        var records = Collection(collection);
        lock (records)
        {
            return Task.FromResult(records.TryAdd(key, json));
        }
    }

    public Task<IReadOnlyList<StoredRecord>> ListAsync(string collection, string keyPrefix, CancellationToken cancellationToken)
    {
        var records = Collection(collection);
        lock (records)
        {
            return Task.FromResult<IReadOnlyList<StoredRecord>>(
                [.. records.Where(r => r.Key.StartsWith(keyPrefix, StringComparison.Ordinal)).Select(r => new StoredRecord(r.Key, r.Value))]);
        }
    }

    public Task<bool> TryDeleteAsync(string collection, string key, CancellationToken cancellationToken)
    {
        var records = Collection(collection);
        lock (records)
        {
            return Task.FromResult(records.Remove(key));
        }
    }

    private SortedDictionary<string, string> Collection(string name) =>
        _collections.GetOrAdd(name, static _ => new SortedDictionary<string, string>(StringComparer.Ordinal));
}
