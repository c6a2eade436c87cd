using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Infrastructure.Persistence.DynamoDb;

namespace VoiceAgent.Integration.Tests.Persistence;

/// <summary>DynamoDB specifics: key design, TTL, bad data, the table set-up.</summary>
public sealed class DynamoDbStoreTests : IClassFixture<MotoServer>, IAsyncLifetime, IDisposable
{
    private readonly DynamoDbTestStore _store;

    public DynamoDbStoreTests(MotoServer moto) => _store = new DynamoDbTestStore(moto);

    public Task InitializeAsync() => _store.SeedAsync(Path.Combine(AppContext.BaseDirectory, "seed"));

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task The_table_has_the_documented_keys_index_and_ttl()
    {
        var table = (await _store.Client.DescribeTableAsync(_store.Options.TableName)).Table;
        Assert.Equal(["pk", "sk"], table.KeySchema.Select(k => k.AttributeName));
        var index = Assert.Single(table.GlobalSecondaryIndexes);
        Assert.Equal(("gsi1", "gsi1pk", "gsi1sk"), (index.IndexName, index.KeySchema[0].AttributeName, index.KeySchema[1].AttributeName));
        var ttl = await _store.Client.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = _store.Options.TableName });
        Assert.Equal("expiresAt", ttl.TimeToLiveDescription.AttributeName);

        // Seeding twice is harmless.
        await _store.SeedAsync(Path.Combine(AppContext.BaseDirectory, "seed"));
    }

    [Fact]
    public async Task A_relay_ticket_is_claimed_once_and_the_claim_is_an_item_that_expires()
    {
        var ledger = new DynamoDbRelayTicketLedger(_store.Calls, TimeProvider.System);
        var sid = "CA" + Guid.NewGuid().ToString("N");
        var expires = new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);

        Assert.True(await ledger.TryClaimAsync(sid, "ticket-1", expires, default));
        Assert.False(await ledger.TryClaimAsync(sid, "ticket-1", expires, default));
        Assert.True(await ledger.TryClaimAsync(sid, "ticket-2", expires, default));

        var item = (await _store.Client.GetItemAsync(_store.Options.TableName, new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "CALL#" + sid }, ["sk"] = new() { S = "RELAY#ticket-1" } })).Item;
        Assert.Equal(("relayticket", expires.AddDays(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)), (item["type"].S, item["expiresAt"].N));
    }

    [Fact]
    public async Task A_days_calls_spread_over_the_index_shards_and_items_written_before_sharding_are_still_listed()
    {
        var day = new DateTimeOffset(2032, 3, 4, 8, 0, 0, TimeSpan.Zero);
        var sids = Enumerable.Range(0, 40).Select(_ => "CA" + Guid.NewGuid().ToString("N")).ToList();
        foreach (var (sid, i) in sids.Select((sid, i) => (sid, i)))
        {
            await _store.Calls.WriteAsync(new CallWrites(sid) { Call = Call.Create(sid, "+15550001234", "+15550009999", "pizza", day.AddSeconds(i)), CallIsNew = true }, default);
        }

        // A call item as the unsharded design wrote it (CALLS#{day}), before the others.
        var legacy = "CA" + Guid.NewGuid().ToString("N");
        await _store.Calls.WriteAsync(new CallWrites(legacy) { Call = Call.Create(legacy, "+15550001234", "+15550009999", "pizza", day.AddSeconds(-1)), CallIsNew = true }, default);
        await _store.Client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = _store.Options.TableName,
            Key = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "CALL#" + legacy }, ["sk"] = new() { S = "CALL" } },
            UpdateExpression = "SET gsi1pk = :pk",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":pk"] = new() { S = "CALLS#2032-03-04" } },
        });

        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sid in sids)
        {
            var item = (await _store.Client.GetItemAsync(_store.Options.TableName, new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "CALL#" + sid }, ["sk"] = new() { S = "CALL" } })).Item;
            Assert.Matches(@"^CALLS#2032-03-04#\d{1,2}$", item["gsi1pk"].S);
            keys.Add(item["gsi1pk"].S);
        }

        Assert.True(keys.Count >= 8, $"40 calls used {keys.Count} of {_store.Options.IndexShards} shards");
        var listed = await _store.Calls.ListDayAsync(new DateOnly(2032, 3, 4), null, 100, default);
        Assert.Equal([legacy, .. sids], listed.Items.Select(c => c.CallSid));
    }

    [Fact]
    public async Task Call_data_carries_the_retention_ttl_and_turn_keys_sort_by_position()
    {
        var sid = "CA" + Guid.NewGuid().ToString("N");
        await _store.Calls.WriteAsync(
            new CallWrites(sid)
            {
                Call = Call.Create(sid, "+15550001234", "+15550009999", "pizza", DateTimeOffset.UtcNow),
                CallIsNew = true,
                Messages = [new IndexedMessage(9, Text("nine")), new IndexedMessage(10, Text("ten"))],
            },
            default);

        var items = (await _store.Client.QueryAsync(new QueryRequest
        {
            TableName = _store.Options.TableName,
            KeyConditionExpression = "pk = :pk",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":pk"] = new() { S = "CALL#" + sid } },
        })).Items;

        Assert.Equal(["CALL", "MSG#000009", "MSG#000010"], items.Select(i => i["sk"].S));
        var expected = DateTimeOffset.UtcNow.AddDays(_store.Options.RetentionDays).ToUnixTimeSeconds();
        Assert.All(items, i => Assert.InRange(long.Parse(i["expiresAt"].N, System.Globalization.CultureInfo.InvariantCulture), expected - 60, expected + 60));
        Assert.StartsWith("CALLS#", items[0]["gsi1pk"].S, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_items_give_an_error_naming_the_item_and_the_field()
    {
        var sid = "CA" + Guid.NewGuid().ToString("N");
        await Put(new() { ["pk"] = new() { S = "CALL#" + sid }, ["sk"] = new() { S = "CALL" }, ["callSid"] = new() { S = sid }, ["status"] = new() { S = "Exploded" } });
        await Put(new() { ["pk"] = new() { S = "CALL#" + sid }, ["sk"] = new() { S = "MSG#000000" }, ["role"] = new() { N = "1" }, ["content"] = new() { S = "[]" } });
        await Put(new() { ["pk"] = new() { S = "USECASE#broken" }, ["sk"] = new() { S = "USECASE" }, ["document"] = new() { S = "{\"id\":\"broken\",\"systemPrompt\":42}" } });

        var call = await Assert.ThrowsAsync<StoredDataException>(() => _store.Calls.GetAsync(sid, default));
        // Named with the CallSid masked: the message is logged.
        Assert.Contains($"CALL#{VoiceAgent.Domain.Common.LogIds.Call(sid)}/CALL", call.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(sid, call.Message, StringComparison.Ordinal);
        var message = await Assert.ThrowsAsync<StoredDataException>(() => _store.Calls.GetMessagesAsync(sid, default));
        Assert.Contains("MSG#000000", message.Message, StringComparison.Ordinal);
        Assert.Contains("'role'", message.Message, StringComparison.Ordinal);
        var useCase = await Assert.ThrowsAsync<StoredDataException>(() => _store.UseCases.GetAsync("broken", default));
        Assert.Contains("USECASE#broken", useCase.Message, StringComparison.Ordinal);
    }

    private static ConversationMessage Text(string text) => new(ConversationRole.User, [new TextBlock(text)]);

    private async Task Put(Dictionary<string, AttributeValue> item) =>
        await _store.Client.PutItemAsync(new PutItemRequest { TableName = _store.Options.TableName, Item = item });
}
