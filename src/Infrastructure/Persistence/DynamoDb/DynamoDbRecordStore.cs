using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.ItemCodec;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.TableDesign;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>
/// Module records: one partition per collection (<c>RECORD#{collection}</c>), the key as the sort key, the JSON as
/// <c>document</c>. A record is created with a conditional put, so a key is taken once across every instance. A record
/// with a retention carries the TTL attribute; once past it, it is not read back and its key can be taken again, even
/// before DynamoDB's TTL sweep removes it.
/// </summary>
internal sealed class DynamoDbRecordStore(IAmazonDynamoDB client, DynamoDbOptions options, DynamoDbCallRepository calls, TimeProvider timeProvider) : IRecordStore
{
    public async Task<bool> TryAddAsync(string collection, string key, string json, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            [Pk] = S(RecordPk(collection)),
            [Sk] = S(key),
            [ItemType] = S("record"),
            ["document"] = S(json),
        };
        if (expiresAt is { } expiry)
        {
            item[ExpiresAt] = ItemCodec.N(expiry.ToUnixTimeSeconds());
        }

        try
        {
            await client.PutItemAsync(
                new PutItemRequest
                {
                    TableName = options.TableName,
                    Item = item,
                    ConditionExpression = "attribute_not_exists(#pk) OR #expiresAt <= :now",
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#pk"] = Pk, ["#expiresAt"] = ExpiresAt },
                    ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":now"] = ItemCodec.N(timeProvider.GetUtcNow().ToUnixTimeSeconds()) },
                },
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    public async Task<IReadOnlyList<StoredRecord>> ListAsync(string collection, string keyPrefix, CancellationToken cancellationToken)
    {
        var items = await calls.QueryAsync(RecordPk(collection), keyPrefix, cancellationToken).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        return [.. items
            .Where(item => !item.TryGetValue(ExpiresAt, out var expiry) || long.Parse(expiry.N, System.Globalization.CultureInfo.InvariantCulture) > now)
            .Select(item => new StoredRecord(item[Sk].S, new ItemReader(item).String("document")))];
    }

    public async Task<bool> TryDeleteAsync(string collection, string key, CancellationToken cancellationToken)
    {
        try
        {
            await client.DeleteItemAsync(
                new DeleteItemRequest
                {
                    TableName = options.TableName,
                    Key = DynamoDbCallRepository.Key(RecordPk(collection), key),
                    ConditionExpression = "attribute_exists(#pk)",
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#pk"] = Pk },
                },
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }
}
