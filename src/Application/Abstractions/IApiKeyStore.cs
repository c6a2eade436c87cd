namespace VoiceAgent.Application.Abstractions;

/// <summary>
/// API keys for the operations API, kept as their SHA-256 only (the key itself is shown once, when it is made, and
/// never stored or logged).
/// </summary>
public interface IApiKeyStore
{
    /// <summary>The name of the key whose SHA-256 (lower-case hex) is <paramref name="sha256Hex"/>, or null.</summary>
    Task<string?> FindAsync(string sha256Hex, CancellationToken cancellationToken);

    /// <summary>Stores a new key's hash under <paramref name="name"/>; false when this store keeps keys in configuration only.</summary>
    Task<bool> AddAsync(string sha256Hex, string name, CancellationToken cancellationToken);
}
