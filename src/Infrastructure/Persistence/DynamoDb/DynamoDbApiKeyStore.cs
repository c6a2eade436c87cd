using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.ItemCodec;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.TableDesign;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>API keys as <c>APIKEY#{sha256}</c> items holding the key's name; the key itself is never stored.</summary>
internal sealed class DynamoDbApiKeyStore(IAmazonDynamoDB client, DynamoDbOptions options) : IApiKeyStore
{
    private const string KeySk = "APIKEY";

    public async Task<string?> FindAsync(string sha256Hex, CancellationToken cancellationToken)
    {
        var response = await client.GetItemAsync(
            new GetItemRequest { TableName = options.TableName, Key = DynamoDbCallRepository.Key("APIKEY#" + sha256Hex, KeySk), ConsistentRead = true },
            cancellationToken).ConfigureAwait(false);
        return response.Item is { Count: > 0 } item ? new ItemReader(item).String("name") : null;
    }

    public async Task<bool> AddAsync(string sha256Hex, string name, CancellationToken cancellationToken)
    {
        await client.PutItemAsync(
            new PutItemRequest
            {
                TableName = options.TableName,
                Item = new Dictionary<string, AttributeValue>
                {
                    [Pk] = S("APIKEY#" + sha256Hex),
                    [Sk] = S(KeySk),
                    [ItemType] = S("apikey"),
                    ["name"] = S(name),
                },
            },
            cancellationToken).ConfigureAwait(false);
        return true;
    }
}
