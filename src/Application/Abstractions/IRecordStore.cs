namespace VoiceAgent.Application.Abstractions;

/// <summary>
/// The records a business module owns (viewings, leads), as JSON documents under a collection and a key, kept by the
/// configured store without it knowing the module. Creating is conditional: a key is taken once, by one caller, on
/// every instance — the write that keeps two callers from booking the same slot.
/// </summary>
public interface IRecordStore
{
    /// <summary>
    /// Stores the record unless its key is taken; false when it was. With <paramref name="expiresAt"/> (the use case's
    /// record retention) the record is let go then, and its key is free again.
    /// </summary>
    Task<bool> TryAddAsync(string collection, string key, string json, DateTimeOffset? expiresAt, CancellationToken cancellationToken);

    /// <summary>The records of a collection whose key starts with <paramref name="keyPrefix"/>, in key order (expired ones left out).</summary>
    Task<IReadOnlyList<StoredRecord>> ListAsync(string collection, string keyPrefix, CancellationToken cancellationToken);

    /// <summary>Removes the record; false when there was none.</summary>
    Task<bool> TryDeleteAsync(string collection, string key, CancellationToken cancellationToken);
}

/// <summary>One module record.</summary>
public sealed record StoredRecord(string Key, string Json);
