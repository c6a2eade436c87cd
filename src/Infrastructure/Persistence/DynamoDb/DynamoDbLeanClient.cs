using System.Globalization;
using System.IO.Hashing;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using VoiceAgent.Infrastructure.Aws;
using VoiceAgent.Infrastructure.Buffers;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>
/// The DynamoDB requests made for every call and turn — <c>BatchWriteItem</c> (the journal's shared requests),
/// <c>PutItem</c>, <c>UpdateItem</c> and <c>TransactWriteItems</c> (a call's own writes, the relay ticket's single-use
/// claim, the post-call record) and <c>GetItem</c> (the caller's profile and the use case) — without the SDK's request
/// pipeline: the request is written as DynamoDB JSON into a pooled buffer, signed by our SigV4 signer
/// (<c>x-amz-target</c> included) and posted on the client's own connection pool; the answer's CRC-32 is checked, as
/// the SDK checks it, and DynamoDB's errors come back as the SDK's exception types. The SDK's marshalling, endpoint
/// resolution, signing and unmarshalling were three quarters of the CPU these requests cost
/// (bench/results/production.md): about 1.5 ms of CPU per call set-up. Queries and listings still go through the SDK
/// client, whose endpoint and signing region this one uses. Like that client (one retry), a request DynamoDB answers
/// with a throttle or a server error, or that fails on the way, is sent once more after a short pause.
/// </summary>
internal sealed class DynamoDbLeanClient : IDisposable
{
    private const string ContentType = "application/x-amz-json-1.0";
    private const string BatchWriteItem = "DynamoDB_20120810.BatchWriteItem";
    private const string PutItem = "DynamoDB_20120810.PutItem";
    private const string UpdateItem = "DynamoDB_20120810.UpdateItem";
    private const string GetItem = "DynamoDB_20120810.GetItem";
    private const string TransactWriteItems = "DynamoDB_20120810.TransactWriteItems";
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(50);

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    /// <summary>Not an HttpClient: each request has its own timeout, and HttpClient's linked cancellation per request is not needed.</summary>
    private readonly HttpMessageInvoker _http;
    private readonly SigV4Signer _signer;
    private readonly Func<AWSCredentials> _credentials;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;

    public DynamoDbLeanClient(HttpMessageHandler handler, Uri endpoint, string region, Func<AWSCredentials> credentials, TimeProvider time, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _http = new HttpMessageInvoker(handler);
        Endpoint = endpoint;
        Region = region;
        _signer = new SigV4Signer(region, "dynamodb");
        _credentials = credentials;
        _time = time;
        _timeout = timeout;
    }

    /// <summary>Where the requests go.</summary>
    public Uri Endpoint { get; }

    /// <summary>The region the requests are signed for.</summary>
    public string Region { get; }

    /// <summary>
    /// A client to where <paramref name="client"/> sends its requests (its service URL, or the endpoint it resolves for
    /// its region), signed for the client's region. An SDK client always has one or the other (it refuses to be built
    /// without: "No RegionEndpoint or ServiceURL configured").
    /// </summary>
    public static DynamoDbLeanClient For(IAmazonDynamoDB client, Func<AWSCredentials> credentials, TimeProvider time, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(client);
        var config = client.Config;
        Uri endpoint;
        string region;
        if (!string.IsNullOrEmpty(config.ServiceURL))
        {
            endpoint = new Uri(config.ServiceURL);
            region = config.AuthenticationRegion ?? config.RegionEndpoint?.SystemName ?? "us-east-1";
        }
        else
        {
            region = config.RegionEndpoint?.SystemName
                ?? throw new InvalidOperationException("The DynamoDB client has neither a region nor a service URL.");
            var resolved = client.DetermineServiceOperationEndpoint(new BatchWriteItemRequest())?.URL
                ?? throw new InvalidOperationException($"The DynamoDB client resolves no endpoint for {region}.");
            endpoint = new Uri(resolved);
        }

        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            AutomaticDecompression = DecompressionMethods.None,
        };
        return new DynamoDbLeanClient(handler, endpoint, region, credentials, time, timeout);
    }

    /// <summary>
    /// Puts <paramref name="items"/> into <paramref name="table"/> in one request. Returns DynamoDB's UnprocessedItems
    /// (raw JSON, to pass to <see cref="RetryAsync"/>) when it left some, else null. Throws
    /// <see cref="AmazonDynamoDBException"/> when DynamoDB refuses the request.
    /// </summary>
    public Task<byte[]?> PutAsync(string table, IReadOnlyList<Dictionary<string, AttributeValue>> items, CancellationToken cancellationToken) =>
        PutAsync(table, items, AttributeJson.WriteMap, cancellationToken);

    /// <summary>
    /// <see cref="PutAsync(string, IReadOnlyList{Dictionary{string, AttributeValue}}, CancellationToken)"/> of items
    /// that <paramref name="writeItem"/> writes as DynamoDB JSON maps themselves (no attribute objects on the way).
    /// </summary>
    public async Task<byte[]?> PutAsync<T>(string table, IReadOnlyList<T> items, Action<Utf8JsonWriter, T> writeItem, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(writeItem);
        var answer = await SendAsync(BatchWriteItem, 512 * items.Count, (Table: table, Items: items, Write: writeItem), static (json, request) =>
        {
            json.WriteStartObject("RequestItems");
            json.WriteStartArray(request.Table);
            foreach (var item in request.Items)
            {
                json.WriteStartObject();
                json.WriteStartObject("PutRequest");
                json.WritePropertyName("Item");
                request.Write(json, item);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }, cancellationToken).ConfigureAwait(false);
        return Unprocessed(answer);
    }

    /// <summary>Sends again what a previous request left unprocessed (as <see cref="PutAsync"/> returned it).</summary>
    public async Task<byte[]?> RetryAsync(byte[] unprocessed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(unprocessed);
        var answer = await SendAsync(BatchWriteItem, unprocessed.Length + 20, unprocessed, static (json, left) =>
        {
            json.WritePropertyName("RequestItems");
            json.WriteRawValue(left, skipInputValidation: true);
        }, cancellationToken).ConfigureAwait(false);
        return Unprocessed(answer);
    }

    /// <summary>
    /// <c>PutItem</c> of <paramref name="item"/> whole, on <paramref name="condition"/> when one is given (its
    /// <c>#names</c> in <paramref name="names"/>). False when DynamoDB refused it for the condition.
    /// </summary>
    public Task<bool> PutItemAsync(
        string table, Dictionary<string, AttributeValue> item, string? condition, IReadOnlyDictionary<string, string>? names, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        return SendConditionalAsync(PutItem, 256 + (64 * item.Count), condition, (Table: table, Item: item, Condition: condition, Names: names), static (json, request) =>
            WriteItemRequest(json, request.Table, "Item", request.Item, null, request.Condition, request.Names, null), cancellationToken);
    }

    /// <summary>
    /// <c>UpdateItem</c> of the item at <paramref name="key"/>: <paramref name="update"/>, on <paramref name="condition"/>
    /// when one is given, with the expressions' <c>#names</c> and <c>:values</c>. False when DynamoDB refused it for the
    /// condition.
    /// </summary>
    public Task<bool> UpdateItemAsync(
        string table,
        Dictionary<string, AttributeValue> key,
        string update,
        string? condition,
        IReadOnlyDictionary<string, string>? names,
        Dictionary<string, AttributeValue>? values,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(update);
        var capacity = 256 + update.Length + (64 * (key.Count + (values?.Count ?? 0)));
        return SendConditionalAsync(UpdateItem, capacity, condition, (Table: table, Key: key, Update: update, Condition: condition, Names: names, Values: values), static (json, request) =>
            WriteItemRequest(json, request.Table, "Key", request.Key, request.Update, request.Condition, request.Names, request.Values), cancellationToken);
    }

    /// <summary>A write on a condition: true when done, false when DynamoDB refused it for <paramref name="condition"/>.</summary>
    private async Task<bool> SendConditionalAsync<T>(
        string target, int capacity, string? condition, T request, Action<Utf8JsonWriter, T> write, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(target, capacity, request, write, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException) when (condition is not null)
        {
            return false;
        }
    }

    /// <summary>
    /// <c>TransactWriteItems</c>: every one of <paramref name="items"/> (a Put, an Update or a Delete each) is written, or
    /// none. The request carries an idempotency token (as the SDK adds one), so the one retry cannot apply it twice.
    /// A cancelled transaction throws the SDK's <see cref="TransactionCanceledException"/> with DynamoDB's reasons.
    /// </summary>
    public Task TransactWriteItemsAsync(IReadOnlyList<TransactWriteItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        var capacity = 512;
        foreach (var item in items)
        {
            capacity += 256 + (64 * ((item.Put?.Item?.Count ?? 0) + (item.Update?.ExpressionAttributeValues?.Count ?? 0))) + (item.Update?.UpdateExpression?.Length ?? 0);
        }

        return SendAsync(TransactWriteItems, capacity, (Items: items, Token: Guid.NewGuid().ToString("D")), static (json, request) =>
        {
            json.WriteStartArray("TransactItems");
            foreach (var item in request.Items)
            {
                json.WriteStartObject();
                if (item.Put is { } put)
                {
                    json.WriteStartObject("Put");
                    WriteItemRequest(json, put.TableName, "Item", put.Item, null, put.ConditionExpression, put.ExpressionAttributeNames, put.ExpressionAttributeValues);
                }
                else if (item.Update is { } update)
                {
                    json.WriteStartObject("Update");
                    WriteItemRequest(json, update.TableName, "Key", update.Key, update.UpdateExpression, update.ConditionExpression, update.ExpressionAttributeNames, update.ExpressionAttributeValues);
                }
                else if (item.Delete is { } delete)
                {
                    json.WriteStartObject("Delete");
                    WriteItemRequest(json, delete.TableName, "Key", delete.Key, null, delete.ConditionExpression, delete.ExpressionAttributeNames, delete.ExpressionAttributeValues);
                }
                else
                {
                    throw new ArgumentException("A transaction item that is not a Put, an Update or a Delete.", nameof(items));
                }

                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("ClientRequestToken", request.Token);
        }, cancellationToken);
    }

    /// <summary><c>GetItem</c>: the item at <paramref name="key"/>, whole; null when there is none.</summary>
    public async Task<Dictionary<string, AttributeValue>?> GetItemAsync(
        string table, Dictionary<string, AttributeValue> key, bool consistentRead, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var answer = await SendAsync(GetItem, 256, (Table: table, Key: key, Consistent: consistentRead), static (json, request) =>
        {
            WriteItemRequest(json, request.Table, "Key", request.Key, null, null, null, null);
            if (request.Consistent)
            {
                json.WriteBoolean("ConsistentRead", true);
            }
        }, cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(answer);
        return document.RootElement.TryGetProperty("Item", out var item) && item.ValueKind == JsonValueKind.Object && item.EnumerateObject().Any()
            ? AttributeJson.ReadMap(item)
            : null;
    }

    /// <summary>
    /// The properties of a one-item request (a GetItem, a PutItem, an UpdateItem, or a transaction's Put, Update or Delete): the
    /// table, the item or its key (<paramref name="mapName"/>), and the expressions given.
    /// </summary>
    private static void WriteItemRequest(
        Utf8JsonWriter json,
        string table,
        string mapName,
        Dictionary<string, AttributeValue> map,
        string? update,
        string? condition,
        IReadOnlyDictionary<string, string>? names,
        Dictionary<string, AttributeValue>? values)
    {
        json.WriteString("TableName", table);
        json.WritePropertyName(mapName);
        AttributeJson.WriteMap(json, map);
        if (update is not null)
        {
            json.WriteString("UpdateExpression", update);
        }

        if (condition is not null)
        {
            json.WriteString("ConditionExpression", condition);
        }

        if (names is { Count: > 0 })
        {
            json.WriteStartObject("ExpressionAttributeNames");
            foreach (var (placeholder, name) in names)
            {
                json.WriteString(placeholder, name);
            }

            json.WriteEndObject();
        }

        if (values is { Count: > 0 })
        {
            json.WritePropertyName("ExpressionAttributeValues");
            AttributeJson.WriteMap(json, values);
        }
    }

    /// <summary>How many items an UnprocessedItems object (as <see cref="PutAsync"/> returns it) holds.</summary>
    public static int Count(byte[] unprocessed)
    {
        using var document = JsonDocument.Parse(unprocessed);
        return document.RootElement.EnumerateObject().Sum(t => t.Value.ValueKind == JsonValueKind.Array ? t.Value.GetArrayLength() : 0);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// One operation: its request object written by <paramref name="write"/>, signed and sent; DynamoDB's answer when it
    /// accepted it. A throttle, a server error or a failure on the way is tried once more after a short pause.
    /// </summary>
    private async Task<byte[]> SendAsync<T>(string target, int capacity, T request, Action<Utf8JsonWriter, T> write, CancellationToken cancellationToken)
    {
        using var body = new PooledBufferWriter(capacity);
        using (var json = new Utf8JsonWriter(body, JsonOptions))
        {
            json.WriteStartObject();
            write(json, request);
            json.WriteEndObject();
        }

        try
        {
            return await SendOnceAsync(target, body, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(RetryPause, _time, cancellationToken).ConfigureAwait(false);
            return await SendOnceAsync(target, body, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What the SDK client retries: throttles, server errors, requests that failed on the way or in time.</summary>
    private static bool IsTransient(Exception exception) => exception switch
    {
        AmazonDynamoDBException dynamo => (int)dynamo.StatusCode >= 500
            || dynamo.ErrorCode is "ProvisionedThroughputExceededException" or "ThrottlingException" or "RequestLimitExceeded" or "LimitExceededException",
        HttpRequestException or IOException or TimeoutException => true,
        _ => false,
    };

    private async Task<byte[]> SendOnceAsync(string target, PooledBufferWriter body, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = new ByteArrayContent(body.Array, 0, body.Length) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(ContentType));
        var credentials = await _credentials().GetCredentialsAsync().ConfigureAwait(false);
        _signer.Sign(request, body.WrittenSpan, ContentType, ContentType, credentials, _time.GetUtcNow(), target);

        try
        {
            // Disposed whether its body is read or the read fails.
            using var response = await _http.SendAsync(request, linked.Token).ConfigureAwait(false);
            var answer = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
            CheckCrc(response, answer);
            return response.StatusCode == HttpStatusCode.OK ? answer : throw Refused(response, answer);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"DynamoDB {target[(target.IndexOf('.', StringComparison.Ordinal) + 1)..]} did not answer within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.");
        }
    }

    /// <summary>DynamoDB's x-amz-crc32 over the answer's bytes: a mismatch is a damaged answer (transient).</summary>
    private static void CheckCrc(HttpResponseMessage response, byte[] answer)
    {
        if (response.Headers.TryGetValues("x-amz-crc32", out var values)
            && uint.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var expected)
            && Crc32.HashToUInt32(answer) != expected)
        {
            throw new IOException("DynamoDB's answer failed its CRC-32 check.");
        }
    }

    /// <summary>The error DynamoDB answered, as the SDK reports it: its code (after '#' in __type) and message.</summary>
    private static AmazonDynamoDBException Refused(HttpResponseMessage response, byte[] answer)
    {
        var text = Encoding.UTF8.GetString(answer);
        var code = AwsErrorBody.Type(text) ?? response.StatusCode.ToString();
        var message = AwsErrorBody.Message(text) ?? $"DynamoDB answered {(int)response.StatusCode}.";
        var requestId = response.Headers.TryGetValues("x-amzn-RequestId", out var ids) ? ids.FirstOrDefault() : null;
        var errorType = (int)response.StatusCode >= 500 ? ErrorType.Receiver : ErrorType.Sender;
        // The SDK's own types for a failed condition and a cancelled transaction (with its reasons), which callers
        // catch and classify by type.
        return code switch
        {
            "ConditionalCheckFailedException" => new ConditionalCheckFailedException(message, null, errorType, code, requestId, response.StatusCode),
            "TransactionCanceledException" => new TransactionCanceledException(message, null, errorType, code, requestId, response.StatusCode)
            {
                CancellationReasons = CancellationReasons(text),
            },
            _ => new AmazonDynamoDBException(message, null, errorType, code, requestId, response.StatusCode),
        };
    }

    /// <summary>A cancelled transaction's reasons, one per item in order (<c>{"Code":"None"}</c> for the innocent ones).</summary>
    private static List<CancellationReason> CancellationReasons(string text)
    {
        var reasons = new List<CancellationReason>();
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("CancellationReasons", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var reason in list.EnumerateArray())
                {
                    reasons.Add(new CancellationReason
                    {
                        Code = reason.TryGetProperty("Code", out var code) ? code.GetString() : null,
                        Message = reason.TryGetProperty("Message", out var message) ? message.GetString() : null,
                    });
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: no reasons to give.
        }

        return reasons;
    }

    /// <summary>The UnprocessedItems object when it holds any request, else null.</summary>
    private static byte[]? Unprocessed(byte[] answer)
    {
        using var document = JsonDocument.Parse(answer);
        if (!document.RootElement.TryGetProperty("UnprocessedItems", out var unprocessed) || unprocessed.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var table in unprocessed.EnumerateObject())
        {
            if (table.Value.ValueKind == JsonValueKind.Array && table.Value.GetArrayLength() > 0)
            {
                return JsonMarshal.GetRawUtf8Value(unprocessed).ToArray();
            }
        }

        return null;
    }
}

/// <summary>DynamoDB JSON (<c>{"S":"…"}</c>, <c>{"N":"…"}</c>, …) of the SDK's attribute values, both ways.</summary>
internal static class AttributeJson
{
    public static Dictionary<string, AttributeValue> ReadMap(JsonElement map)
    {
        var item = new Dictionary<string, AttributeValue>(StringComparer.Ordinal);
        foreach (var attribute in map.EnumerateObject())
        {
            item[attribute.Name] = Read(attribute.Value);
        }

        return item;
    }

    public static AttributeValue Read(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("A DynamoDB attribute value is not an object.");
        }

        foreach (var typed in value.EnumerateObject())
        {
            var v = typed.Value;
            return typed.Name switch
            {
                "S" => new AttributeValue { S = v.GetString() },
                "N" => new AttributeValue { N = v.GetString() },
                "BOOL" => new AttributeValue { BOOL = v.GetBoolean() },
                "NULL" => new AttributeValue { NULL = v.GetBoolean() },
                "M" => new AttributeValue { M = ReadMap(v) },
                "L" => new AttributeValue { L = [.. v.EnumerateArray().Select(Read)] },
                "SS" => new AttributeValue { SS = [.. v.EnumerateArray().Select(e => e.GetString()!)] },
                "NS" => new AttributeValue { NS = [.. v.EnumerateArray().Select(e => e.GetString()!)] },
                "B" => new AttributeValue { B = new MemoryStream(v.GetBytesFromBase64()) },
                "BS" => new AttributeValue { BS = [.. v.EnumerateArray().Select(e => new MemoryStream(e.GetBytesFromBase64()))] },
                _ => throw new FormatException($"Unknown DynamoDB attribute type '{typed.Name}'."),
            };
        }

        throw new FormatException("A DynamoDB attribute value with no type.");
    }

    public static void WriteMap(Utf8JsonWriter json, Dictionary<string, AttributeValue> map)
    {
        json.WriteStartObject();
        foreach (var (name, value) in map)
        {
            json.WritePropertyName(name);
            Write(json, value);
        }

        json.WriteEndObject();
    }

    public static void Write(Utf8JsonWriter json, AttributeValue value)
    {
        json.WriteStartObject();
        if (value.S is not null)
        {
            json.WriteString("S", value.S);
        }
        else if (value.N is not null)
        {
            json.WriteString("N", value.N);
        }
        else if (value.BOOL is { } flag)
        {
            json.WriteBoolean("BOOL", flag);
        }
        else if (value.NULL is true)
        {
            json.WriteBoolean("NULL", true);
        }
        else if (value.M is not null)
        {
            json.WritePropertyName("M");
            WriteMap(json, value.M);
        }
        else if (value.L is not null)
        {
            json.WriteStartArray("L");
            foreach (var element in value.L)
            {
                Write(json, element);
            }

            json.WriteEndArray();
        }
        else if (value.SS is not null || value.NS is not null)
        {
            json.WriteStartArray(value.SS is not null ? "SS" : "NS");
            foreach (var element in value.SS ?? value.NS!)
            {
                json.WriteStringValue(element);
            }

            json.WriteEndArray();
        }
        else if (value.B is not null)
        {
            json.WriteBase64String("B", value.B.ToArray());
        }
        else if (value.BS is not null)
        {
            json.WriteStartArray("BS");
            foreach (var element in value.BS)
            {
                json.WriteBase64StringValue(element.ToArray());
            }

            json.WriteEndArray();
        }
        else
        {
            throw new ArgumentException("An attribute value with no type set.", nameof(value));
        }

        json.WriteEndObject();
    }
}
