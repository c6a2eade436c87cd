using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Infrastructure.Persistence.Embedded;

/// <summary>The embedded store keeps no keys: they come from configuration (Api:Keys), which the API checks first.</summary>
internal sealed class EmbeddedApiKeyStore : IApiKeyStore
{
    public Task<string?> FindAsync(string sha256Hex, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public Task<bool> AddAsync(string sha256Hex, string name, CancellationToken cancellationToken) => Task.FromResult(false);
}
