using VoiceAgent.Api.Twilio;

namespace VoiceAgent.Api.Relay;

/// <summary>What a relay upgrade says, whichever layer read it: Kestrel's HTTP request or the connection handler.</summary>
/// <param name="Path">The request path (always /ws).</param>
/// <param name="Query">The raw query string with its '?' (the signature covers it), or null.</param>
/// <param name="Signature">X-Twilio-Signature, or null.</param>
/// <param name="Client">The client address the guard counts failures under.</param>
/// <param name="Ticket">The relay ticket from the query, decoded, or null.</param>
internal readonly record struct RelayUpgradeRequest(string Path, string? Query, string? Signature, string Client, string? Ticket);

/// <summary>
/// Decides a relay upgrade, the same for both ways in: a client over its failure budget gets 429, a bad signature 403,
/// a draining instance 503, and the ticket must be this service's, unexpired and unused (403; 503 when the store must
/// record its use and cannot).
/// </summary>
internal sealed class RelayAdmission(TwilioRequestValidator validator, WebhookGuard guard, RelayTicketGuard tickets, RelayDrain drain)
{
    /// <summary>The ticket when admitted; otherwise the status to answer with.</summary>
    public async Task<(int Status, RelayTicket? Ticket)> AdmitAsync(RelayUpgradeRequest request, CancellationToken cancellationToken)
    {
        if (guard.IsBlocked(request.Client))
        {
            return (StatusCodes.Status429TooManyRequests, null);
        }

        if (!validator.IsValidUpgrade(request.Path, request.Query, request.Signature))
        {
            guard.Failed(request.Client);
            return (StatusCodes.Status403Forbidden, null);
        }

        if (drain.IsDraining)
        {
            return (StatusCodes.Status503ServiceUnavailable, null);
        }

        // The ticket in the URL (which the signature covers) must be one this service handed out, unexpired and unused.
        var (verdict, ticket) = await tickets.AdmitAsync(request.Ticket, cancellationToken).ConfigureAwait(false);
        if (ticket is not null)
        {
            return (StatusCodes.Status101SwitchingProtocols, ticket);
        }

        if (verdict == TicketVerdict.StoreUnavailable)
        {
            return (StatusCodes.Status503ServiceUnavailable, null);
        }

        guard.Failed(request.Client);
        return (StatusCodes.Status403Forbidden, null);
    }
}
