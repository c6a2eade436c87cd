using System.Text.Json;
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
/// <remarks>
/// The journal's writes (PutItem, UpdateItem, TransactWriteItems, and its shared BatchWriteItem requests), the relay
/// ticket's claim and the post-call record go through <paramref name="lean"/> (our own client for them); reads and
/// queries of the call's history and listings through the SDK client.
/// </remarks>
internal sealed class DynamoDbCallRepository(IAmazonDynamoDB client, DynamoDbOptions options, TimeProvider timeProvider, DynamoDbLeanClient lean) : ICallRepository
{
    /// <summary>Items per transaction (DynamoDB's limit) and a margin under its 4 MB request limit.</summary>
    private const int MaxTransactionItems = 100;
    private const int MaxTransactionBytes = 3_500_000;

    /// <summary>Items per BatchWriteItem (DynamoDB's limit; 25 items of at most 400 KB stay under its 16 MB).</summary>
    private const int MaxBatchItems = 25;

    private const int MaxUnprocessedRetries = 3;

    public async Task WriteAsync(CallWrites writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var expiresAt = ExpiresAt();
        var items = new List<(TransactWriteItem Item, int Bytes)>(writes.Count);
        if (writes.Call is { } call)
        {
            var update = CallUpdate(call, writes.CallIsNew, expiresAt);
            items.Add((new TransactWriteItem { Update = update }, ItemSize.Of(update.ExpressionAttributeValues)));
        }

        foreach (var message in writes.Messages)
        {
            var item = FromMessage(writes.CallSid, message, expiresAt);
            items.Add((new TransactWriteItem { Put = new Put { TableName = options.TableName, Item = item } }, ItemSize.Of(item)));
        }

        foreach (var index in writes.DeletedMessages)
        {
            items.Add((new TransactWriteItem { Delete = new Delete { TableName = options.TableName, Key = Key(CallPk(writes.CallSid), MessageSk(index)) } }, 64));
        }

        foreach (var toolCall in writes.ToolCalls)
        {
            var item = FromToolCall(toolCall, expiresAt);
            items.Add((new TransactWriteItem { Put = new Put { TableName = options.TableName, Item = item } }, ItemSize.Of(item)));
        }

        await DynamoDbErrors.ClassifyAsync(() => WriteItemsAsync(items, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Calls whose writes are only text messages share BatchWriteItem requests (25 items each): one request for
    /// many calls' turns instead of a transaction per call, which took a fifth of the service's CPU at 1,000 calls.
    /// Items DynamoDB leaves unprocessed (throttling) are sent again, a few times; then it throws, and the journal
    /// writes each call on its own. The rest is left for <see cref="WriteAsync"/>.
    /// </summary>
    public async Task<IReadOnlyList<CallWrites>> WriteSharedAsync(IReadOnlyList<CallWrites> writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        // One message alone is one PutItem either way; two or more, even of one call, are cheaper batched than in a
        // transaction (which DynamoDB bills twice) when nothing needs them to land together.
        var shared = new List<CallWrites>(writes.Count);
        var left = new List<CallWrites>();
        foreach (var call in writes)
        {
            (call.IsTextOnly && call.Messages.Count > 0 ? shared : left).Add(call);
        }

        if (shared.Sum(w => w.Messages.Count) < 2)
        {
            return writes;
        }

        var expiresAt = ExpiresAt();
        var items = new List<BatchedMessage>(MaxBatchItems);
        foreach (var call in shared)
        {
            foreach (var message in call.Messages)
            {
                items.Add(new BatchedMessage(call.CallSid, message, expiresAt));
                if (items.Count == MaxBatchItems)
                {
                    await BatchWriteAsync(items, cancellationToken).ConfigureAwait(false);
                    items.Clear();
                }
            }
        }

        if (items.Count > 0)
        {
            await BatchWriteAsync(items, cancellationToken).ConfigureAwait(false);
        }

        return left;
    }

    private async Task BatchWriteAsync(List<BatchedMessage> items, CancellationToken cancellationToken)
    {
        var unprocessed = await lean.PutAsync(options.TableName, items, WriteMessageItem, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; unprocessed is not null; attempt++)
        {
            if (attempt == MaxUnprocessedRetries)
            {
                throw new InvalidOperationException($"DynamoDB left {DynamoDbLeanClient.Count(unprocessed)} items unprocessed after {attempt + 1} attempts.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25 << attempt), timeProvider, cancellationToken).ConfigureAwait(false);
            unprocessed = await lean.RetryAsync(unprocessed, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A message item to put in a batch, written straight as DynamoDB JSON.</summary>
    private readonly record struct BatchedMessage(string CallSid, IndexedMessage Message, long ExpiresAt);

    private static readonly Action<Utf8JsonWriter, BatchedMessage> WriteMessageItem =
        static (json, item) => ItemCodec.WriteMessage(json, item.CallSid, item.Message, item.ExpiresAt);

    /// <summary>One item: its own request (half the cost of a transaction). More: transactions, all or none each.</summary>
    private async Task WriteItemsAsync(List<(TransactWriteItem Item, int Bytes)> items, CancellationToken cancellationToken)
    {
        if (items.Count == 1)
        {
            var only = items[0].Item;
            if (only.Put is { } put)
            {
                await lean.PutItemAsync(put.TableName, put.Item, null, null, cancellationToken).ConfigureAwait(false);
            }
            else if (only.Update is { } update)
            {
                await lean.UpdateItemAsync(
                    update.TableName, update.Key, update.UpdateExpression, null, update.ExpressionAttributeNames, update.ExpressionAttributeValues, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await client.DeleteItemAsync(new DeleteItemRequest { TableName = options.TableName, Key = only.Delete.Key }, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var chunk = new List<TransactWriteItem>(Math.Min(items.Count, MaxTransactionItems));
        var bytes = 0;
        foreach (var (item, size) in items)
        {
            if (chunk.Count == MaxTransactionItems || (chunk.Count > 0 && bytes + size > MaxTransactionBytes))
            {
                await lean.TransactWriteItemsAsync(chunk, cancellationToken).ConfigureAwait(false);
                chunk = new List<TransactWriteItem>(MaxTransactionItems);
                bytes = 0;
            }

            chunk.Add(item);
            bytes += size;
        }

        await lean.TransactWriteItemsAsync(chunk, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The call record as an update that never overwrites what identifies a stored call (numbers, use case, creation
    /// time, index keys: <c>if_not_exists</c>); a new call's update changes nothing at all on an existing one.
    /// </summary>
    private Update CallUpdate(Call call, bool isNew, long expiresAt)
    {
        var item = FromCall(call, expiresAt, options.IndexShards);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var values = new Dictionary<string, AttributeValue>(StringComparer.Ordinal);
        var sets = new List<string>(item.Count);
        var i = 0;
        foreach (var (name, value) in item)
        {
            if (name is Pk or Sk)
            {
                continue;
            }

            var placeholder = "#a" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var valueName = ":v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            i++;
            names[placeholder] = name;
            values[valueName] = value;
            sets.Add(isNew || IdentifiesCall(name) ? $"{placeholder} = if_not_exists({placeholder}, {valueName})" : $"{placeholder} = {valueName}");
        }

        return new Update
        {
            TableName = options.TableName,
            Key = Key(CallPk(call.CallSid), CallSk),
            UpdateExpression = "SET " + string.Join(", ", sets),
            ExpressionAttributeNames = names,
            ExpressionAttributeValues = values,
        };
    }

    private static bool IdentifiesCall(string attribute) =>
        attribute is ItemType or "callSid" or "from" or "to" or "useCaseId" or "createdAt" or Gsi1Pk or Gsi1Sk;

    public async Task<Call?> GetAsync(string callSid, CancellationToken cancellationToken)
    {
        var response = await client.GetItemAsync(
            new GetItemRequest { TableName = options.TableName, Key = Key(CallPk(callSid), CallSk), ConsistentRead = true },
            cancellationToken).ConfigureAwait(false);
        return response.Item is { Count: > 0 } item ? ToCall(item) : null;
    }

    public async Task<IReadOnlyList<ConversationMessage>> GetMessagesAsync(string callSid, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(CallPk(callSid), MessagePrefix, cancellationToken).ConfigureAwait(false);
        return items.Select(ToMessage).ToList();
    }

    public async Task<IReadOnlyList<ToolCall>> GetToolCallsAsync(string callSid, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(CallPk(callSid), ToolPrefix, cancellationToken).ConfigureAwait(false);
        return items.Select(ToToolCall).OrderBy(t => t.StartedAt).ToList();
    }

    public async Task<bool> SaveRecordAsync(string callSid, CallRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var values = RecordAttributes(record);
        var names = new Dictionary<string, string>(StringComparer.Ordinal) { ["#pk"] = Pk };
        var attributeValues = new Dictionary<string, AttributeValue>(StringComparer.Ordinal);
        var sets = new List<string>();
        foreach (var (name, value) in values)
        {
            names["#" + name] = name;
            attributeValues[":" + name] = value;
            sets.Add($"#{name} = :{name}");
        }

        return await lean.UpdateItemAsync(
            options.TableName,
            Key(CallPk(callSid), CallSk),
            "SET " + string.Join(", ", sets),
            "attribute_exists(#pk) AND attribute_not_exists(#recordedAt)",
            names,
            attributeValues,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<DayPage<Call>> ListDayAsync(DateOnly day, string? after, int limit, CancellationToken cancellationToken)
    {
        var (items, next) = await ListIndexDayAsync(client, options, CallsIndex, day, after, limit, cancellationToken).ConfigureAwait(false);
        return new DayPage<Call>([.. items.Select(ToCall)], next);
    }

    /// <summary>
    /// One page of a day's index listing: every shard (and the pre-sharding key) is queried for its first
    /// <paramref name="limit"/> items after <paramref name="after"/>, at once, and the answers merged by sort key.
    /// </summary>
    internal static async Task<(List<Dictionary<string, AttributeValue>> Items, string? Next)> ListIndexDayAsync(
        IAmazonDynamoDB client, DynamoDbOptions options, string index, DateOnly day, string? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var queries = DayIndexPks(index, day, options.IndexShards).Select(async pk =>
        {
            var request = new QueryRequest
            {
                TableName = options.TableName,
                IndexName = Gsi1,
                KeyConditionExpression = "#pk = :pk",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#pk"] = Gsi1Pk },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":pk"] = S(pk) },
                Limit = limit + 1,
            };
            if (after is not null)
            {
                request.KeyConditionExpression += " AND #sk > :after";
                request.ExpressionAttributeNames["#sk"] = Gsi1Sk;
                request.ExpressionAttributeValues[":after"] = S(after);
            }

            var response = await client.QueryAsync(request, cancellationToken).ConfigureAwait(false);
            return response.Items ?? [];
        });
        var merged = (await Task.WhenAll(queries).ConfigureAwait(false))
            .SelectMany(items => items)
            .OrderBy(item => item[Gsi1Sk].S, StringComparer.Ordinal)
            .ToList();
        return merged.Count > limit
            ? (merged[..limit], merged[limit - 1][Gsi1Sk].S)
            : (merged, null);
    }

    /// <summary>Every item of a partition whose sort key starts with <paramref name="prefix"/>: paginated, consistent.</summary>
    internal Task<List<Dictionary<string, AttributeValue>>> QueryAsync(string pk, string prefix, CancellationToken cancellationToken)
    {
        var request = new QueryRequest
        {
            TableName = options.TableName,
            KeyConditionExpression = "#pk = :pk",
            ExpressionAttributeNames = new Dictionary<string, string> { ["#pk"] = Pk },
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":pk"] = S(pk) },
            ConsistentRead = true,
            Limit = options.PageSize,
        };

        // DynamoDB refuses an empty key value: no prefix means the whole partition.
        if (prefix.Length > 0)
        {
            request.KeyConditionExpression += " AND begins_with(#sk, :prefix)";
            request.ExpressionAttributeNames["#sk"] = Sk;
            request.ExpressionAttributeValues[":prefix"] = S(prefix);
        }

        return QueryAllAsync(client, request, cancellationToken);
    }

    /// <summary>Every item <paramref name="request"/> matches, page after page.</summary>
    internal static async Task<List<Dictionary<string, AttributeValue>>> QueryAllAsync(IAmazonDynamoDB client, QueryRequest request, CancellationToken cancellationToken)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        do
        {
            var response = await client.QueryAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.Items is not null)
            {
                items.AddRange(response.Items);
            }

            request.ExclusiveStartKey = response.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (request.ExclusiveStartKey is not null);

        return items;
    }

    private long ExpiresAt() => timeProvider.GetUtcNow().AddDays(options.RetentionDays).ToUnixTimeSeconds();

    internal static Dictionary<string, AttributeValue> Key(string pk, string sk) => new() { [Pk] = S(pk), [Sk] = S(sk) };

    /// <summary>Puts <paramref name="item"/> unless an item with its key exists: the conditional write. False when one did.</summary>
    internal Task<bool> TryPutNewAsync(Dictionary<string, AttributeValue> item, CancellationToken cancellationToken) =>
        lean.PutItemAsync(options.TableName, item, "attribute_not_exists(#pk)", NewItemNames, cancellationToken);

    private static readonly Dictionary<string, string> NewItemNames = new(StringComparer.Ordinal) { ["#pk"] = Pk };
}

/// <summary>Items that hold one JSON document (use cases, caller profiles): read strictly, written whole.</summary>
internal static class JsonDocumentItems
{
    /// <summary>The item's document parsed by <paramref name="parse"/>; null when there is no such item.</summary>
    public static async Task<T?> GetAsync<T>(
        DynamoDbLeanClient lean, DynamoDbOptions options, string pk, string sk, Func<string, string, T> parse, CancellationToken cancellationToken)
        where T : class
    {
        if (await lean.GetItemAsync(options.TableName, DynamoDbCallRepository.Key(pk, sk), consistentRead: false, cancellationToken).ConfigureAwait(false) is not { } item)
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

    /// <summary>Writes the document; with <paramref name="listedUnder"/> it is also listed in the index under that key.</summary>
    public static Task PutAsync(
        IAmazonDynamoDB client, DynamoDbOptions options, string pk, string sk, string type, string json, CancellationToken cancellationToken, (string Pk, string Sk)? listedUnder = null)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            [Pk] = S(pk),
            [Sk] = S(sk),
            [ItemType] = S(type),
            ["document"] = S(json),
        };
        if (listedUnder is var (indexPk, indexSk))
        {
            item[Gsi1Pk] = S(indexPk);
            item[Gsi1Sk] = S(indexSk);
        }

        return client.PutItemAsync(new PutItemRequest { TableName = options.TableName, Item = item }, cancellationToken);
    }
}

/// <summary>Use cases, stored as their JSON document and listed in the index under <c>USECASES</c>.</summary>
internal sealed class DynamoDbUseCaseRepository(IAmazonDynamoDB client, DynamoDbOptions options, DynamoDbLeanClient lean) : IUseCaseRepository
{
    private const string UseCaseSk = "USECASE";

    public Task<UseCase?> GetAsync(string useCaseId, CancellationToken cancellationToken) =>
        JsonDocumentItems.GetAsync(lean, options, UseCasePk(useCaseId), UseCaseSk, SeedLoader.ParseUseCase, cancellationToken);

    public async Task<UseCaseListing> ListAsync(CancellationToken cancellationToken)
    {
        var items = await DynamoDbCallRepository.QueryAllAsync(
            client,
            new QueryRequest
            {
                TableName = options.TableName,
                IndexName = Gsi1,
                KeyConditionExpression = "#pk = :pk",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#pk"] = Gsi1Pk },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":pk"] = S(UseCaseList) },
                Limit = options.PageSize,
            },
            cancellationToken).ConfigureAwait(false);
        var useCases = new List<UseCase>();
        var unreadable = new List<string>();
        foreach (var item in items)
        {
            var reader = new ItemReader(item);
            try
            {
                useCases.Add(SeedLoader.ParseUseCase(reader.String("document"), $"DynamoDB item {reader.Name}"));
            }
            catch (Exception ex) when (ex is SeedDataException or StoredDataException)
            {
                unreadable.Add(ex.Message);
            }
        }

        return new UseCaseListing(useCases, unreadable);
    }

    public Task PutAsync(string useCaseId, string json, CancellationToken cancellationToken) =>
        JsonDocumentItems.PutAsync(client, options, UseCasePk(useCaseId), UseCaseSk, "usecase", json, cancellationToken, (UseCaseList, useCaseId));
}

/// <summary>Caller profiles by E.164 number, stored as their JSON document.</summary>
internal sealed class DynamoDbCallerProfileRepository(IAmazonDynamoDB client, DynamoDbOptions options, DynamoDbLeanClient lean) : ICallerProfileRepository
{
    private const string ProfileSk = "PROFILE";

    public Task<CallerProfile?> FindByPhoneNumberAsync(string phoneNumber, CancellationToken cancellationToken) =>
        JsonDocumentItems.GetAsync(lean, options, CallerPk(phoneNumber), ProfileSk, SeedLoader.ParseCallerProfile, cancellationToken);

    public Task PutAsync(string phoneNumber, string json, CancellationToken cancellationToken) =>
        JsonDocumentItems.PutAsync(client, options, CallerPk(phoneNumber), ProfileSk, "caller", json, cancellationToken);
}

/// <summary>
/// Orders in their call's partition (and by day in the GSI). Business records are kept, unless the use case sets a
/// retention: then the item carries the table's TTL attribute, and an expired order DynamoDB has not removed yet
/// (it takes up to a few days) is not read back.
/// </summary>
internal sealed class DynamoDbOrderRepository(IAmazonDynamoDB client, DynamoDbOptions options, DynamoDbCallRepository calls, TimeProvider timeProvider) : IOrderRepository
{
    public Task SaveAsync(Order order, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(order);
        var createdAt = order.CreatedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var item = new Dictionary<string, AttributeValue>
        {
            [Pk] = S(CallPk(order.CallSid)),
            [Sk] = S(OrderSk(order.OrderId)),
            [ItemType] = S("order"),
            [Gsi1Pk] = S(DayIndexPk(OrdersIndex, order.CreatedAt, order.OrderId, options.IndexShards)),
            [Gsi1Sk] = S(createdAt + "#" + order.OrderId),
            ["document"] = S(VoiceAgent.Infrastructure.Persistence.OrderDocument.ToJson(order)),
        };
        if (order.ExpiresAt is { } expiresAt)
        {
            item[ExpiresAt] = ItemCodec.N(expiresAt.ToUnixTimeSeconds());
        }

        return client.PutItemAsync(new PutItemRequest { TableName = options.TableName, Item = item }, cancellationToken);
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
            .Where(o => !o.IsExpired(timeProvider.GetUtcNow()))
            .OrderBy(o => o.CreatedAt)
            .ToList();
    }

    public async Task<DayPage<Order>> ListDayAsync(DateOnly day, string? after, int limit, CancellationToken cancellationToken)
    {
        var (items, next) = await DynamoDbCallRepository.ListIndexDayAsync(client, options, OrdersIndex, day, after, limit, cancellationToken).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        return new DayPage<Order>(
            [.. items
                .Select(item => VoiceAgent.Infrastructure.Persistence.OrderDocument.FromJson(new ItemReader(item).String("document"), $"DynamoDB item {new ItemReader(item).Name}"))
                .Where(o => !o.IsExpired(now))],
            next);
    }
}
