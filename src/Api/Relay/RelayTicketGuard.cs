using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Api.Relay;

/// <summary>Why an upgrade was refused, or that it was admitted.</summary>
internal enum TicketVerdict
{
    Admitted,
    Missing,
    Forged,
    Expired,
    Replayed,
    StoreUnavailable,
}

/// <summary>
/// Issues relay tickets for the TwiML and admits an upgrade only with a ticket that is this service's, unexpired
/// and unused. Single use holds across instances: the ticket is claimed in the store with a conditional write.
/// When the store cannot answer within Relay:TicketClaimTimeout the upgrade is admitted on this instance's own
/// memory of used tickets (logged and counted), unless Relay:RequireStoredTicketClaim says to refuse it.
/// </summary>
internal sealed partial class RelayTicketGuard
{
    private readonly RelayTicketCodec _codec;

    /// <summary>The codec the tickets are sealed with (also an outbound call's context, for its own purpose).</summary>
    public RelayTicketCodec Codec => _codec;
    private readonly IRelayTicketLedger _ledger;
    private readonly TimeProvider _time;
    private readonly RelayOptions _options;
    private readonly ILogger<RelayTicketGuard> _logger;
    private readonly Counter<long> _verdicts;
    private readonly ExpiringKeys _used;

    public RelayTicketGuard(
        RelayTicketCodec codec,
        IRelayTicketLedger ledger,
        TimeProvider time,
        IOptions<RelayOptions> options,
        IMeterFactory meters,
        ILogger<RelayTicketGuard> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meters);
        _codec = codec;
        _ledger = ledger;
        _time = time;
        _used = new ExpiringKeys(time);
        _options = options.Value;
        _logger = logger;
        _verdicts = meters.Create("VoiceAgent.Relay").CreateCounter<long>("voiceagent.relay.tickets", description: "Relay upgrades by ticket verdict");
    }

    /// <summary>A fresh ticket for <paramref name="call"/>, valid for Relay:TicketLifetime.</summary>
    public string Issue(CallContext call) => _codec.Seal(call, _time.GetUtcNow() + _options.TicketLifetime);

    /// <summary>Opens and claims the ticket of an upgrade.</summary>
    public async Task<(TicketVerdict Verdict, RelayTicket? Ticket)> AdmitAsync(string? text, CancellationToken cancellationToken)
    {
        var (verdict, ticket) = await CheckAsync(text, cancellationToken).ConfigureAwait(false);
        _verdicts.Add(1, new KeyValuePair<string, object?>("verdict", verdict.ToString()));
        if (verdict != TicketVerdict.Admitted)
        {
            Log.Refused(_logger, verdict, LogIds.Call(ticket?.Call.CallSid));
        }

        return (verdict, verdict == TicketVerdict.Admitted ? ticket : null);
    }

    private async Task<(TicketVerdict, RelayTicket?)> CheckAsync(string? text, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(text))
        {
            return (TicketVerdict.Missing, null);
        }

        if (_codec.Open(text) is not { } ticket)
        {
            return (TicketVerdict.Forged, null);
        }

        var now = _time.GetUtcNow();
        if (ticket.ExpiresAt <= now)
        {
            return (TicketVerdict.Expired, ticket);
        }

        // This instance's own memory first: a replay here is refused without asking the store.
        if (!_used.TryAdd(ticket.Id, ticket.ExpiresAt))
        {
            return (TicketVerdict.Replayed, ticket);
        }

        try
        {
            using var deadline = new CancellationTokenSource(_options.TicketClaimTimeout, _time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            var claimed = await _ledger.TryClaimAsync(ticket.Call.CallSid, ticket.Id, ticket.ExpiresAt, timeout.Token).ConfigureAwait(false);
            return (claimed ? TicketVerdict.Admitted : TicketVerdict.Replayed, ticket);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (_options.RequireStoredTicketClaim)
            {
                // Not admitted, so not used: Twilio may try the same ticket again once the store answers.
                _used.Remove(ticket.Id);
                Log.ClaimUnavailableRefused(_logger, ex, LogIds.Call(ticket.Call.CallSid));
                return (TicketVerdict.StoreUnavailable, ticket);
            }

            Log.ClaimUnavailable(_logger, ex, LogIds.Call(ticket.Call.CallSid));
            _verdicts.Add(1, new KeyValuePair<string, object?>("verdict", "AdmittedWithoutStore"));
            return (TicketVerdict.Admitted, ticket);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Refused a relay upgrade: ticket {Verdict} (call {CallSid})")]
        public static partial void Refused(ILogger logger, TicketVerdict verdict, string callSid);

        [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Call {CallSid}: the store could not record the relay ticket's use; admitted on this instance's memory only")]
        public static partial void ClaimUnavailable(ILogger logger, Exception exception, string callSid);

        [LoggerMessage(EventId = 6104, Level = LogLevel.Error, Message = "Call {CallSid}: the store could not record the relay ticket's use; refused (Relay:RequireStoredTicketClaim)")]
        public static partial void ClaimUnavailableRefused(ILogger logger, Exception exception, string callSid);
    }
}
