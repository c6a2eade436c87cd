namespace VoiceAgent.Application.Abstractions;

/// <summary>
/// Remembers which relay tickets have been used, across every instance that shares the store: a ticket opens
/// one relay session, once.
/// </summary>
public interface IRelayTicketLedger
{
    /// <summary>
    /// Marks the ticket as used by a connection to <paramref name="callSid"/> (a conditional write). False when it
    /// was used before; throws when the store cannot say.
    /// </summary>
    Task<bool> TryClaimAsync(string callSid, string ticketId, DateTimeOffset expiresAt, CancellationToken cancellationToken);
}
