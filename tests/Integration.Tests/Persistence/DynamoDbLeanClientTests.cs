using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Infrastructure.Persistence.DynamoDb;

namespace VoiceAgent.Integration.Tests.Persistence;

/// <summary>
/// Our BatchWriteItem client against a loopback DynamoDB endpoint that records what it is sent and answers as told:
/// the request on the wire (target, signature scope, DynamoDB JSON of every attribute type), unprocessed items sent
/// again as DynamoDB returned them, refusals reported with DynamoDB's error code, a damaged answer caught by its CRC.
/// (The round trip through a real DynamoDB-compatible server is in the repository contract, on moto.)
/// </summary>
public sealed class DynamoDbLeanClientTests : IAsyncLifetime
{
    private const string Table = "voiceagent-test";
    private readonly ConcurrentQueue<Recorded> _requests = new();
    private readonly ConcurrentQueue<Func<HttpContext, Task>> _answers = new();
    private WebApplication _app = null!;
    private Uri _url = null!;

    public async Task InitializeAsync()
    {
        _app = LoopbackApp.Create();
        _app.MapPost("/", async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            _requests.Enqueue(new Recorded(context.Request.Headers["X-Amz-Target"].ToString(), context.Request.Headers.Authorization.ToString(), context.Request.ContentType, body));
            if (_answers.TryDequeue(out var answer))
            {
                await answer(context);
            }
            else
            {
                await Answer(context, HttpStatusCode.OK, """{"UnprocessedItems":{}}""");
            }
        });
        _url = await LoopbackApp.StartAsync(_app);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Items_go_as_DynamoDB_JSON_in_one_signed_request_and_what_is_left_unprocessed_is_sent_again_as_returned()
    {
        const string left = """{"voiceagent-test":[{"PutRequest":{"Item":{"pk":{"S":"CALL#CA2"},"sk":{"S":"MSG#000001"}}}}]}""";
        _answers.Enqueue(context => Answer(context, HttpStatusCode.OK, "{\"UnprocessedItems\":" + left + "}"));
        using var writer = Writer();
        var item = new Dictionary<string, AttributeValue>
        {
            ["pk"] = new() { S = "CALL#CA1" },
            ["text"] = new() { S = "S\u00fbre \"large\" \ud83c\udf55\n\\" },
            ["position"] = new() { N = "7" },
            ["final"] = new() { BOOL = false },
            ["nothing"] = new() { NULL = true },
            ["usage"] = new() { M = new Dictionary<string, AttributeValue> { ["in"] = new() { N = "1200" } } },
            ["list"] = new() { L = [new() { S = "a" }, new() { N = "2" }] },
            ["tags"] = new() { SS = ["x", "y"] },
            ["counts"] = new() { NS = ["1", "2"] },
            ["raw"] = new() { B = new MemoryStream([1, 2, 3]) },
        };

        var unprocessed = await writer.PutAsync(Table, [item], CancellationToken.None);

        Assert.NotNull(unprocessed);
        Assert.Equal(1, DynamoDbLeanClient.Count(unprocessed));
        Assert.Null(await writer.RetryAsync(unprocessed, CancellationToken.None));

        var sent = _requests.ToArray();
        Assert.Equal(2, sent.Length);
        Assert.All(sent, r => Assert.Equal("DynamoDB_20120810.BatchWriteItem", r.Target));
        Assert.All(sent, r => Assert.Equal("application/x-amz-json-1.0", r.ContentType));
        Assert.All(sent, r => Assert.Contains("/us-east-1/dynamodb/aws4_request, SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target,", r.Authorization, StringComparison.Ordinal));
        var expected = JsonNode.Parse("""
            {"RequestItems":{"voiceagent-test":[{"PutRequest":{"Item":{
              "pk":{"S":"CALL#CA1"},"text":{"S":"S\u00fbre \"large\" \ud83c\udf55\n\\"},"position":{"N":"7"},"final":{"BOOL":false},
              "nothing":{"NULL":true},"usage":{"M":{"in":{"N":"1200"}}},"list":{"L":[{"S":"a"},{"N":"2"}]},
              "tags":{"SS":["x","y"]},"counts":{"NS":["1","2"]},"raw":{"B":"AQID"}}}}]}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(sent[0].Body)), sent[0].Body);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"RequestItems\":" + left + "}"), JsonNode.Parse(sent[1].Body)), sent[1].Body);
    }

    [Fact]
    public async Task A_refusal_carries_DynamoDBs_error_code_a_throttle_is_tried_once_more_and_a_damaged_answer_fails_its_CRC()
    {
        const string throttle = """{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate of requests exceeds the allowed throughput."}""";
        _answers.Enqueue(context => Answer(context, HttpStatusCode.BadRequest, """{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}"""));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.BadRequest, throttle));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.BadRequest, throttle));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.BadRequest, throttle));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.OK, """{"UnprocessedItems":{}}"""));
        for (var i = 0; i < 2; i++)
        {
            _answers.Enqueue(context =>
            {
                context.Response.Headers["x-amz-crc32"] = "12345";
                return Answer(context, HttpStatusCode.OK, """{"UnprocessedItems":{}}""");
            });
        }

        using var writer = Writer();
        var item = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "CALL#CA1" } };

        // Refused for the request itself: not sent again.
        var refused = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => writer.PutAsync(Table, [item], CancellationToken.None));
        Assert.Equal(("ValidationException", "One or more parameter values were invalid", HttpStatusCode.BadRequest), (refused.ErrorCode, refused.Message, refused.StatusCode));
        Assert.Single(_requests);

        // Throttled twice: the second refusal is the one reported.
        var throttled = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => writer.PutAsync(Table, [item], CancellationToken.None));
        Assert.Equal(("ProvisionedThroughputExceededException", "Rate of requests exceeds the allowed throughput."), (throttled.ErrorCode, throttled.Message));
        Assert.Equal(3, _requests.Count);

        // Throttled once, then written.
        Assert.Null(await writer.PutAsync(Table, [item], CancellationToken.None));
        Assert.Equal(5, _requests.Count);

        // A damaged answer is sent again too; damaged twice, it fails.
        await Assert.ThrowsAsync<IOException>(() => writer.PutAsync(Table, [item], CancellationToken.None));
        Assert.Equal(7, _requests.Count);
    }

    [Fact]
    public async Task PutItem_and_UpdateItem_go_as_the_SDK_sends_them_and_a_failed_condition_is_an_answer_not_an_error()
    {
        const string failed = """{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}""";
        _answers.Enqueue(context => Answer(context, HttpStatusCode.OK, "{}"));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.BadRequest, failed));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.OK, "{}"));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.BadRequest, failed));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.BadRequest, failed));
        using var writer = Writer();
        var item = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "CALL#CA1" }, ["sk"] = new() { S = "RELAY#t1" }, ["expiresAt"] = new() { N = "1800000000" } };
        var key = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "CALL#CA1" }, ["sk"] = new() { S = "CALL" } };
        var names = new Dictionary<string, string> { ["#pk"] = "pk", ["#outcome"] = "outcome" };
        var values = new Dictionary<string, AttributeValue> { [":outcome"] = new() { S = "completed" } };

        Assert.True(await writer.PutItemAsync(Table, item, "attribute_not_exists(#pk)", new Dictionary<string, string> { ["#pk"] = "pk" }, CancellationToken.None));
        Assert.False(await writer.PutItemAsync(Table, item, "attribute_not_exists(#pk)", new Dictionary<string, string> { ["#pk"] = "pk" }, CancellationToken.None));
        Assert.True(await writer.UpdateItemAsync(Table, key, "SET #outcome = :outcome", "attribute_exists(#pk)", names, values, CancellationToken.None));
        Assert.False(await writer.UpdateItemAsync(Table, key, "SET #outcome = :outcome", "attribute_exists(#pk)", names, values, CancellationToken.None));
        // Without a condition of its own, a failed condition is an error, of the SDK's type (and not tried again).
        await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => writer.UpdateItemAsync(Table, key, "SET #outcome = :outcome", null, names, values, CancellationToken.None));

        var sent = _requests.ToArray();
        Assert.Equal(5, sent.Length);
        Assert.Equal(["DynamoDB_20120810.PutItem", "DynamoDB_20120810.PutItem", "DynamoDB_20120810.UpdateItem", "DynamoDB_20120810.UpdateItem", "DynamoDB_20120810.UpdateItem"], sent.Select(r => r.Target));
        Assert.All(sent, r => Assert.Contains("/us-east-1/dynamodb/aws4_request, SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target,", r.Authorization, StringComparison.Ordinal));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"TableName":"voiceagent-test","Item":{"pk":{"S":"CALL#CA1"},"sk":{"S":"RELAY#t1"},"expiresAt":{"N":"1800000000"}},
             "ConditionExpression":"attribute_not_exists(#pk)","ExpressionAttributeNames":{"#pk":"pk"}}
            """), JsonNode.Parse(sent[0].Body)), sent[0].Body);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"TableName":"voiceagent-test","Key":{"pk":{"S":"CALL#CA1"},"sk":{"S":"CALL"}},"UpdateExpression":"SET #outcome = :outcome",
             "ConditionExpression":"attribute_exists(#pk)","ExpressionAttributeNames":{"#pk":"pk","#outcome":"outcome"},
             "ExpressionAttributeValues":{":outcome":{"S":"completed"}}}
            """), JsonNode.Parse(sent[2].Body)), sent[2].Body);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"TableName":"voiceagent-test","Key":{"pk":{"S":"CALL#CA1"},"sk":{"S":"CALL"}},"UpdateExpression":"SET #outcome = :outcome",
             "ExpressionAttributeNames":{"#pk":"pk","#outcome":"outcome"},"ExpressionAttributeValues":{":outcome":{"S":"completed"}}}
            """), JsonNode.Parse(sent[4].Body)), sent[4].Body);
    }

    [Fact]
    public async Task A_transaction_goes_as_the_SDK_sends_it_retried_with_the_same_idempotency_token_and_a_cancellation_carries_its_reasons()
    {
        _answers.Enqueue(context => Answer(context, HttpStatusCode.InternalServerError, """{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"""));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.OK, "{}"));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.BadRequest, """
            {"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
             "CancellationReasons":[{"Code":"None"},{"Code":"ValidationException","Message":"Item size has exceeded the maximum allowed size"},{"Code":"None"}],
             "Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, ValidationException, None]"}
            """));
        using var client = Writer();
        var key = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "CALL#CA1" }, ["sk"] = new() { S = "CALL" } };
        TransactWriteItem[] items =
        [
            new() { Put = new Put { TableName = Table, Item = new() { ["pk"] = new() { S = "CALL#CA1" }, ["sk"] = new() { S = "MSG#000001" } } } },
            new() { Update = new Update { TableName = Table, Key = key, UpdateExpression = "SET #a0 = if_not_exists(#a0, :v0)", ExpressionAttributeNames = new() { ["#a0"] = "from" }, ExpressionAttributeValues = new() { [":v0"] = new() { S = "+15550001234" } } } },
            new() { Delete = new Delete { TableName = Table, Key = new() { ["pk"] = new() { S = "CALL#CA1" }, ["sk"] = new() { S = "MSG#000002" } } } },
        ];

        await client.TransactWriteItemsAsync(items, CancellationToken.None);
        var cancelled = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactWriteItemsAsync(items, CancellationToken.None));

        Assert.Equal(["None", "ValidationException", "None"], cancelled.CancellationReasons.Select(r => r.Code));
        Assert.Equal("Item size has exceeded the maximum allowed size", cancelled.CancellationReasons[1].Message);
        Assert.True(DynamoDbErrors.IsPermanent(cancelled)); // the item's fault: set aside, not retried
        var sent = _requests.ToArray();
        Assert.Equal(3, sent.Length);
        Assert.All(sent, r => Assert.Equal("DynamoDB_20120810.TransactWriteItems", r.Target));
        var (first, retry, next) = (JsonNode.Parse(sent[0].Body)!.AsObject(), JsonNode.Parse(sent[1].Body)!.AsObject(), JsonNode.Parse(sent[2].Body)!.AsObject());
        Assert.Equal(sent[0].Body, sent[1].Body); // the retry is the same request: the same token
        Assert.True(Guid.TryParse(first["ClientRequestToken"]!.GetValue<string>(), out _));
        Assert.NotEqual(first["ClientRequestToken"]!.GetValue<string>(), next["ClientRequestToken"]!.GetValue<string>());
        first.Remove("ClientRequestToken");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"TransactItems":[
              {"Put":{"TableName":"voiceagent-test","Item":{"pk":{"S":"CALL#CA1"},"sk":{"S":"MSG#000001"}}}},
              {"Update":{"TableName":"voiceagent-test","Key":{"pk":{"S":"CALL#CA1"},"sk":{"S":"CALL"}},"UpdateExpression":"SET #a0 = if_not_exists(#a0, :v0)",
                         "ExpressionAttributeNames":{"#a0":"from"},"ExpressionAttributeValues":{":v0":{"S":"+15550001234"}}}},
              {"Delete":{"TableName":"voiceagent-test","Key":{"pk":{"S":"CALL#CA1"},"sk":{"S":"MSG#000002"}}}}]}
            """), first), first.ToJsonString());
    }

    [Fact]
    public async Task GetItem_reads_every_attribute_type_back_as_the_SDK_would_and_no_item_is_null()
    {
        const string stored = """
            {"Item":{"pk":{"S":"CALLER#+15550001234"},"n":{"N":"-1.5e3"},"yes":{"BOOL":true},"nothing":{"NULL":true},
              "usage":{"M":{"in":{"N":"1200"},"tags":{"SS":["x","y"]}}},"list":{"L":[{"S":"a"},{"L":[{"N":"2"}]}]},
              "counts":{"NS":["1","2"]},"raw":{"B":"AQID"},"raws":{"BS":["AQ==","AgM="]},"text":{"S":"S\u00fbre \"large\" \ud83c\udf55"}}}
            """;
        _answers.Enqueue(context => Answer(context, HttpStatusCode.OK, stored));
        _answers.Enqueue(context => Answer(context, HttpStatusCode.OK, "{}"));
        using var client = Writer();
        var key = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "CALLER#+15550001234" }, ["sk"] = new() { S = "PROFILE" } };

        var item = await client.GetItemAsync(Table, key, consistentRead: true, CancellationToken.None);
        var none = await client.GetItemAsync(Table, key, consistentRead: false, CancellationToken.None);

        Assert.Null(none);
        Assert.NotNull(item);
        Assert.Equal(("CALLER#+15550001234", "-1.5e3", true, true), (item["pk"].S, item["n"].N, item["yes"].BOOL, item["nothing"].NULL));
        Assert.Equal("1200", item["usage"].M["in"].N);
        Assert.Equal(["x", "y"], item["usage"].M["tags"].SS);
        Assert.Equal(("a", "2"), (item["list"].L[0].S, item["list"].L[1].L[0].N));
        Assert.Equal(["1", "2"], item["counts"].NS);
        Assert.Equal([1, 2, 3], item["raw"].B.ToArray());
        Assert.Equal([[1], [2, 3]], item["raws"].BS.Select(b => b.ToArray()));
        Assert.Equal("S\u00fbre \"large\" \ud83c\udf55", item["text"].S);

        // Written back as DynamoDB JSON, the item is what was stored.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            AttributeJson.WriteMap(json, item);
        }

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(stored)!["Item"], JsonNode.Parse(buffer.WrittenSpan)));

        var sent = _requests.ToArray();
        Assert.Equal(["DynamoDB_20120810.GetItem", "DynamoDB_20120810.GetItem"], sent.Select(r => r.Target));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"TableName":"voiceagent-test","Key":{"pk":{"S":"CALLER#+15550001234"},"sk":{"S":"PROFILE"}},"ConsistentRead":true}
            """), JsonNode.Parse(sent[0].Body)), sent[0].Body);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"TableName":"voiceagent-test","Key":{"pk":{"S":"CALLER#+15550001234"},"sk":{"S":"PROFILE"}}}
            """), JsonNode.Parse(sent[1].Body)), sent[1].Body);
    }

    [Fact]
    public async Task Items_DynamoDB_keeps_leaving_unprocessed_fail_the_shared_write_after_four_attempts()
    {
        const string left = """{"UnprocessedItems":{"voiceagent-test":[{"PutRequest":{"Item":{"pk":{"S":"CALL#CA1"}}}}]}}""";
        for (var i = 0; i < 4; i++)
        {
            _answers.Enqueue(context => Answer(context, HttpStatusCode.OK, left));
        }

        using var writer = Writer();
        using var client = new AmazonDynamoDBClient(new BasicAWSCredentials("AKIDEXAMPLE", "secret"), new AmazonDynamoDBConfig { ServiceURL = _url.ToString(), AuthenticationRegion = "us-east-1" });
        var calls = new DynamoDbCallRepository(client, new DynamoDbOptions { TableName = Table }, TimeProvider.System, writer);
        var turn = new CallWrites("CA00000000000000000000000000000001")
        {
            Messages = [new IndexedMessage(0, new ConversationMessage(ConversationRole.User, [new TextBlock("hi")])), new IndexedMessage(1, new ConversationMessage(ConversationRole.Assistant, [new TextBlock("Hello.")]))],
        };

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => calls.WriteSharedAsync([turn], CancellationToken.None));

        Assert.Contains("1 items unprocessed after 4 attempts", failed.Message, StringComparison.Ordinal);
        Assert.Equal(4, _requests.Count);
    }

    [Theory]
    [InlineData("eu-west-1", "https://dynamodb.eu-west-1.amazonaws.com/")]
    [InlineData("cn-north-1", "https://dynamodb.cn-north-1.amazonaws.com.cn/")]
    public void Without_a_service_URL_it_sends_where_the_SDK_client_would_for_its_region(string region, string endpoint)
    {
        using var client = new AmazonDynamoDBClient(new BasicAWSCredentials("AKIDEXAMPLE", "secret"), Amazon.RegionEndpoint.GetBySystemName(region));

        using var writer = DynamoDbLeanClient.For(client, () => new BasicAWSCredentials("AKIDEXAMPLE", "secret"), TimeProvider.System, TimeSpan.FromSeconds(5));

        Assert.Equal((new Uri(endpoint), region), (writer.Endpoint, writer.Region));
    }

    [Fact]
    public void With_a_service_URL_it_sends_there_signed_for_the_clients_authentication_region()
    {
        using var client = new AmazonDynamoDBClient(
            new BasicAWSCredentials("AKIDEXAMPLE", "secret"), new AmazonDynamoDBConfig { ServiceURL = "http://127.0.0.1:5401", AuthenticationRegion = "eu-central-1" });

        using var writer = DynamoDbLeanClient.For(client, () => new BasicAWSCredentials("AKIDEXAMPLE", "secret"), TimeProvider.System, TimeSpan.FromSeconds(5));

        Assert.Equal((new Uri("http://127.0.0.1:5401/"), "eu-central-1"), (writer.Endpoint, writer.Region));
    }

    private DynamoDbLeanClient Writer() =>
        new(new SocketsHttpHandler(), _url, "us-east-1", () => new BasicAWSCredentials("AKIDEXAMPLE", "secret"), TimeProvider.System, TimeSpan.FromSeconds(5));

    private static async Task Answer(HttpContext context, HttpStatusCode status, string json)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/x-amz-json-1.0";
        await context.Response.WriteAsync(json);
    }

    private sealed record Recorded(string Target, string Authorization, string? ContentType, string Body);
}
