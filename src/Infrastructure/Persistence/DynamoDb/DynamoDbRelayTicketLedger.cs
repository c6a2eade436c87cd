using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.ItemCodec;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.TableDesign;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>
/// A used relay ticket is an item in its call's partition (<c>RELAY#{ticketId}</c>), put only if absent: the
/// conditional write that makes a ticket single-use across every instance. It expires (TTL) a day after the ticket.
/// </summary>
internal sealed class DynamoDbRelayTicketLedger(DynamoDbCallRepository calls, TimeProvider time) : IRelayTicketLedger
{
    public Task<bool> TryClaimAsync(string callSid, string ticketId, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        calls.TryPutNewAsync(
            new Dictionary<string, AttributeValue>
            {
                [Pk] = S(CallPk(callSid)),
                [Sk] = S(RelayTicketSk(ticketId)),
                [ItemType] = S("relayticket"),
                ["usedAt"] = S(time.GetUtcNow().UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
                [ExpiresAt] = ItemCodec.N(expiresAt.AddDays(1).ToUnixTimeSeconds()),
            },
            cancellationToken);
}
