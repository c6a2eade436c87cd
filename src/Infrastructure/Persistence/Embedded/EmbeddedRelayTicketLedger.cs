using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;

namespace VoiceAgent.Infrastructure.Persistence.Embedded;

/// <summary>Used relay tickets of the embedded (single-process) store; forgotten once they expire.</summary>
internal sealed class EmbeddedRelayTicketLedger(TimeProvider time) : IRelayTicketLedger
{
    private readonly ExpiringKeys _used = new(time);

    public Task<bool> TryClaimAsync(string callSid, string ticketId, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        Task.FromResult(_used.TryAdd(ticketId, expiresAt));
}
