using System.Collections.Concurrent;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Infrastructure.Persistence.Embedded;

/// <summary>Used relay tickets of the embedded (single-process) store; forgotten once they expire.</summary>
internal sealed class EmbeddedRelayTicketLedger(TimeProvider time) : IRelayTicketLedger
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _used = new(StringComparer.Ordinal);
    private int _sinceSweep;

    public Task<bool> TryClaimAsync(string callSid, string ticketId, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var claimed = _used.TryAdd(ticketId, expiresAt);
        if (Interlocked.Increment(ref _sinceSweep) >= 1_024)
        {
            Interlocked.Exchange(ref _sinceSweep, 0);
            var now = time.GetUtcNow();
            foreach (var (id, expiry) in _used)
            {
                if (expiry < now)
                {
                    _used.TryRemove(id, out _);
                }
            }
        }

        return Task.FromResult(claimed);
    }
}
