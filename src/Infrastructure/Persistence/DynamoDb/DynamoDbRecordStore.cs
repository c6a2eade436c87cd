using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.ItemCodec;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.TableDesign;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>
/// Module records: one partition per collection (<c>RECORD#{collection}</c>), the key as the sort key, the JSON as
/// <c>document</c>. A record is created with a conditional put, so a key is taken once across every instance.
/// </summary>
internal sealed class DynamoDbRecordStore(IAmazonDynamoDB client, DynamoDbOptions options, DynamoDbCallRepository calls) : IRecordStore
{
    public Task<bool> TryAddAsync(string collection, string key, string json, CancellationToken cancellationToken) =>
        DynamoDbCallRepository.TryPutNewAsync(
            client,
            options,
            new Dictionary<string, AttributeValue>
            {
                [Pk] = S(RecordPk(collection)),
                [Sk] = S(key),
                [ItemType] = S("record"),
                ["document"] = S(json),
            },
            cancellationToken);

    public async Task<IReadOnlyList<StoredRecord>> ListAsync(string collection, string keyPrefix, CancellationToken cancellationToken)
    {
        var items = await calls.QueryAsync(RecordPk(collection), keyPrefix, cancellationToken).ConfigureAwait(false);
        return [.. items.Select(item => new StoredRecord(item[Sk].S, new ItemReader(item).String("document")))];
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
