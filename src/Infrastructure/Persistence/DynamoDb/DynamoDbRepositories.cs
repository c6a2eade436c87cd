using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Orders;
using VoiceAgent.Domain.Tools;
using VoiceAgent.Domain.UseCases;
using VoiceAgent.Infrastructure.Seeding;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.ItemCodec;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.TableDesign;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>Calls, turns and tool calls in the single table (see <see cref="TableDesign"/>).</summary>
internal sealed class DynamoDbCallRepository(IAmazonDynamoDB client, DynamoDbOptions options, TimeProvider timeProvider) : ICallRepository
{
    public async Task<bool> TryAddAsync(Call call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        try
        {
            await client.PutItemAsync(
                new PutItemRequest
                {
                    TableName = options.TableName,
                    Item = FromCall(call, ExpiresAt()),
                    ConditionExpression = "attribute_not_exists(#pk)",
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#pk"] = Pk },
                },
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            // A webhook retry: the call is already there and keeps its first record.
            return false;
        }
    }

    public Task SaveAsync(Call call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return client.PutItemAsync(new PutItemRequest { TableName = options.TableName, Item = FromCall(call, ExpiresAt()) }, cancellationToken);
    }

    public async Task<Call?> GetAsync(string callSid, CancellationToken cancellationToken)
    {
        var response = await client.GetItemAsync(
            new GetItemRequest { TableName = options.TableName, Key = Key(CallPk(callSid), CallSk), ConsistentRead = true },
            cancellationToken).ConfigureAwait(false);
        return response.Item is { Count: > 0 } item ? ToCall(item) : null;
    }

    public async Task SaveMessagesAsync(string callSid, IReadOnlyList<IndexedMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var expiresAt = ExpiresAt();
        if (messages.Count == 1)
        {
            await client.PutItemAsync(new PutItemRequest { TableName = options.TableName, Item = FromMessage(callSid, messages[0], expiresAt) }, cancellationToken).ConfigureAwait(false);
            return;
        }

        // All or nothing: an assistant's tool uses and the results that answer them land together.
        foreach (var chunk in messages.Chunk(100))
        {
            await client.TransactWriteItemsAsync(
                new TransactWriteItemsRequest
                {
                    TransactItems = chunk.Select(m => new TransactWriteItem { Put = new Put { TableName = options.TableName, Item = FromMessage(callSid, m, expiresAt) } }).ToList(),
                },
                cancellationToken).ConfigureAwait(false);
        }
    }

    public Task DeleteMessageAsync(string callSid, int index, CancellationToken cancellationToken) =>
        client.DeleteItemAsync(new DeleteItemRequest { TableName = options.TableName, Key = Key(CallPk(callSid), MessageSk(index)) }, cancellationToken);

    public async Task<IReadOnlyList<ConversationMessage>> GetMessagesAsync(string callSid, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(CallPk(callSid), MessagePrefix, cancellationToken).ConfigureAwait(false);
        return items.Select(ToMessage).ToList();
    }

    public Task SaveToolCallAsync(ToolCall toolCall, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(toolCall);
        return client.PutItemAsync(new PutItemRequest { TableName = options.TableName, Item = FromToolCall(toolCall, ExpiresAt()) }, cancellationToken);
    }

    public async Task<IReadOnlyList<ToolCall>> GetToolCallsAsync(string callSid, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(CallPk(callSid), ToolPrefix, cancellationToken).ConfigureAwait(false);
        return items.Select(ToToolCall).OrderBy(t => t.StartedAt).ToList();
    }

    /// <summary>Every item of a partition whose sort key starts with <paramref name="prefix"/>: paginated, consistent.</summary>
    internal async Task<List<Dictionary<string, AttributeValue>>> QueryAsync(string pk, string prefix, CancellationToken cancellationToken)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        Dictionary<string, AttributeValue>? startKey = null;
        do
        {
            var response = await client.QueryAsync(
                new QueryRequest
                {
                    TableName = options.TableName,
                    KeyConditionExpression = "#pk = :pk AND begins_with(#sk, :prefix)",
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#pk"] = Pk, ["#sk"] = Sk },
                    ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":pk"] = S(pk), [":prefix"] = S(prefix) },
                    ConsistentRead = true,
                    Limit = options.PageSize,
                    ExclusiveStartKey = startKey,
                },
                cancellationToken).ConfigureAwait(false);
            if (response.Items is not null)
            {
                items.AddRange(response.Items);
            }

            startKey = response.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (startKey is not null);

        return items;
    }

    private long ExpiresAt() => timeProvider.GetUtcNow().AddDays(options.RetentionDays).ToUnixTimeSeconds();

    internal static Dictionary<string, AttributeValue> Key(string pk, string sk) => new() { [Pk] = S(pk), [Sk] = S(sk) };
}

/// <summary>Items that hold one JSON document (use cases, caller profiles): read strictly, written whole.</summary>
internal static class JsonDocumentItems
{
    /// <summary>The item's document parsed by <paramref name="parse"/>; null when there is no such item.</summary>
    public static async Task<T?> GetAsync<T>(
        IAmazonDynamoDB client, DynamoDbOptions options, string pk, string sk, Func<string, string, T> parse, CancellationToken cancellationToken)
        where T : class
    {
        var response = await client.GetItemAsync(new GetItemRequest { TableName = options.TableName, Key = DynamoDbCallRepository.Key(pk, sk) }, cancellationToken).ConfigureAwait(false);
        if (response.Item is not { Count: > 0 } item)
        {
            return null;
        }

        var reader = new ItemReader(item);
        try
        {
            return parse(reader.String("document"), $"DynamoDB item {reader.Name}");
        }
        catch (SeedDataException ex)
        {
            throw new StoredDataException(ex.Message, ex);
        }
    }

    public static Task PutAsync(IAmazonDynamoDB client, DynamoDbOptions options, string pk, string sk, string type, string json, CancellationToken cancellationToken) =>
        client.PutItemAsync(
            new PutItemRequest
            {
                TableName = options.TableName,
                Item = new Dictionary<string, AttributeValue>
                {
                    [Pk] = S(pk),
                    [Sk] = S(sk),
                    [ItemType] = S(type),
                    ["document"] = S(json),
                },
            },
            cancellationToken);
}

/// <summary>Use cases, stored as their JSON document.</summary>
internal sealed class DynamoDbUseCaseRepository(IAmazonDynamoDB client, DynamoDbOptions options) : IUseCaseRepository
{
    private const string UseCaseSk = "USECASE";

    public Task<UseCase?> GetAsync(string useCaseId, CancellationToken cancellationToken) =>
        JsonDocumentItems.GetAsync(client, options, UseCasePk(useCaseId), UseCaseSk, SeedLoader.ParseUseCase, cancellationToken);

    public Task PutAsync(string useCaseId, string json, CancellationToken cancellationToken) =>
        JsonDocumentItems.PutAsync(client, options, UseCasePk(useCaseId), UseCaseSk, "usecase", json, cancellationToken);
}

/// <summary>Caller profiles by E.164 number, stored as their JSON document.</summary>
internal sealed class DynamoDbCallerProfileRepository(IAmazonDynamoDB client, DynamoDbOptions options) : ICallerProfileRepository
{
    private const string ProfileSk = "PROFILE";

    public Task<CallerProfile?> FindByPhoneNumberAsync(string phoneNumber, CancellationToken cancellationToken) =>
        JsonDocumentItems.GetAsync(client, options, CallerPk(phoneNumber), ProfileSk, SeedLoader.ParseCallerProfile, cancellationToken);

    public Task PutAsync(string phoneNumber, string json, CancellationToken cancellationToken) =>
        JsonDocumentItems.PutAsync(client, options, CallerPk(phoneNumber), ProfileSk, "caller", json, cancellationToken);
}

/// <summary>Orders in their call's partition (and by day in the GSI); no TTL: business records are kept.</summary>
internal sealed class DynamoDbOrderRepository(IAmazonDynamoDB client, DynamoDbOptions options, DynamoDbCallRepository calls) : IOrderRepository
{
    public Task SaveAsync(Order order, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(order);
        var createdAt = order.CreatedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return client.PutItemAsync(
            new PutItemRequest
            {
                TableName = options.TableName,
                Item = new Dictionary<string, AttributeValue>
                {
                    [Pk] = S(CallPk(order.CallSid)),
                    [Sk] = S(OrderSk(order.OrderId)),
                    [ItemType] = S("order"),
                    [Gsi1Pk] = S("ORDERS#" + order.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
                    [Gsi1Sk] = S(createdAt + "#" + order.OrderId),
                    ["document"] = S(VoiceAgent.Infrastructure.Persistence.OrderDocument.ToJson(order)),
                },
            },
            cancellationToken);
    }

    public async Task<IReadOnlyList<Order>> GetForCallAsync(string callSid, CancellationToken cancellationToken)
    {
        var items = await calls.QueryAsync(CallPk(callSid), OrderPrefix, cancellationToken).ConfigureAwait(false);
        return items
            .Select(item =>
            {
                var reader = new ItemReader(item);
                return VoiceAgent.Infrastructure.Persistence.OrderDocument.FromJson(reader.String("document"), $"DynamoDB item {reader.Name}");
            })
            .OrderBy(o => o.CreatedAt)
            .ToList();
    }
}
