namespace VoiceAgent.Api.Relay;

/// <summary>
/// Shutdown for live calls. When the host starts stopping (SIGTERM), readiness goes false, new calls and relay
/// upgrades are refused, and live sessions get <see cref="RelayOptions.DrainTimeout"/> to finish; any still open
/// then are handed over (spoken line + end with "server-draining" handoff data) so /action, served by a healthy
/// instance, reconnects the caller.
/// </summary>
internal sealed class RelayDrain : IDisposable
{
    private readonly CancellationTokenSource _draining = new();

    public RelayDrain(IHostApplicationLifetime lifetime)
    {
        ArgumentNullException.ThrowIfNull(lifetime);
        lifetime.ApplicationStopping.Register(Begin);
    }

    public bool IsDraining => _draining.IsCancellationRequested;

    /// <summary>Fires when draining begins.</summary>
    public CancellationToken Draining => _draining.Token;

    public void Dispose() => _draining.Dispose();

    public void Begin()
    {
        try
        {
            _draining.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already torn down with the host.
        }
    }
}
