using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace VoiceAgent.FakeDynamoDb;

/// <summary>
/// DynamoDB's JSON protocol over HTTP, in memory: CreateTable, DescribeTable, UpdateTimeToLive, DescribeTimeToLive,
/// GetItem, PutItem, UpdateItem, DeleteItem, Query (on the table or a global secondary index) and TransactWriteItems,
/// with the expressions VoiceAgent writes
/// (attribute_[not_]exists conditions; "k = :v [AND begins_with(s, :p)]" key conditions; SET with if_not_exists).
/// Anything else is refused with a ValidationException rather than half-understood. Item (400 KB) and key
/// (2,048 / 1,024 bytes) limits are DynamoDB's. Every request waits the configured latency before it is answered.
/// </summary>
public sealed partial class FakeDynamoDbServer : IAsyncDisposable
{
    private const int MaxItemBytes = 400 * 1024;
    private const string ErrorPrefix = "com.amazonaws.dynamodb.v20120810#";

    private readonly WebApplication _app;
    private readonly TimeSpan _latency;
    private readonly Dictionary<string, Table> _tables = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    private FakeDynamoDbServer(WebApplication app, TimeSpan latency)
    {
        _app = app;
        _latency = latency;
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>Fires when the host is asked to stop (SIGTERM, Ctrl+C).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <summary>Requests answered so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    private long _requests;

    /// <summary>Requests served, by operation (GET /_fake/stats).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _operations = new(StringComparer.Ordinal);

    public static async Task<FakeDynamoDbServer> StartAsync(Uri url, TimeSpan latency)
    {
        ArgumentNullException.ThrowIfNull(url);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{url.Host}:{url.Port}");
        var app = builder.Build();
        var server = new FakeDynamoDbServer(app, latency);
        app.MapPost("/", server.HandleAsync);
        app.MapGet("/", () => Results.Ok("fake DynamoDB"));
        app.MapGet("/_fake/items", (string table) => Results.Text(server.Dump(table), "application/x-ndjson"));
        app.MapGet("/_fake/stats", () => Results.Json(server._operations.ToDictionary(), new System.Text.Json.JsonSerializerOptions()));
        await app.StartAsync().ConfigureAwait(false);
        server.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Every item of a table, one JSON object a line.</summary>
    public string Dump(string table)
    {
        lock (_gate)
        {
            if (!_tables.TryGetValue(table, out var t))
            {
                return string.Empty;
            }

            var text = new StringBuilder();
            foreach (var partition in t.Items.Values)
            {
                foreach (var item in partition.Values)
                {
                    text.Append(item.ToJsonString()).Append('\n');
                }
            }

            return text.ToString();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var operation = context.Request.Headers["X-Amz-Target"].ToString().Split('.').LastOrDefault() ?? string.Empty;
        var request = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false))?.AsObject() ?? [];
        if (_latency > TimeSpan.Zero)
        {
            await Task.Delay(_latency, context.RequestAborted).ConfigureAwait(false);
        }

        Interlocked.Increment(ref _requests);
        _operations.AddOrUpdate(operation, 1, static (_, count) => count + 1);
        JsonObject response;
        try
        {
            lock (_gate)
            {
                response = operation switch
                {
                    "CreateTable" => CreateTable(request),
                    "DescribeTable" => DescribeTable(request),
                    "UpdateTimeToLive" => UpdateTimeToLive(request),
                    "DescribeTimeToLive" => DescribeTimeToLive(request),
                    "GetItem" => GetItem(request),
                    "PutItem" => PutItem(request),
                    "UpdateItem" => UpdateItem(request),
                    "DeleteItem" => DeleteItem(request),
                    "Query" => Query(request),
                    "TransactWriteItems" => TransactWriteItems(request),
                    "BatchWriteItem" => BatchWriteItem(request),
                    _ => throw new DynamoError("UnknownOperationException", $"The fake does not serve {operation}."),
                };
            }
        }
        catch (DynamoError error)
        {
            context.Response.StatusCode = 400;
            context.Response.ContentType = "application/x-amz-json-1.0";
            var body = new JsonObject { ["__type"] = ErrorPrefix + error.Type, ["message"] = error.Message };
            if (error.Reasons is { } reasons)
            {
                body["CancellationReasons"] = new JsonArray([.. reasons.Select(r => (JsonNode)new JsonObject { ["Code"] = r })]);
            }

            await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/x-amz-json-1.0";
        await context.Response.WriteAsync(response.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
    }

    private JsonObject CreateTable(JsonObject request)
    {
        var name = Text(request, "TableName");
        if (_tables.ContainsKey(name))
        {
            throw new DynamoError("ResourceInUseException", $"Table already exists: {name}");
        }

        var keys = request["KeySchema"]!.AsArray().Select(k => k!.AsObject()).ToList();
        var table = new Table(
            name,
            Text(keys.Single(k => Text(k, "KeyType") == "HASH"), "AttributeName"),
            keys.SingleOrDefault(k => Text(k, "KeyType") == "RANGE") is { } range ? Text(range, "AttributeName") : null,
            request.DeepClone().AsObject());
        _tables[name] = table;
        return new JsonObject { ["TableDescription"] = Description(table) };
    }

    private JsonObject DescribeTable(JsonObject request) => new() { ["Table"] = Description(Find(request)) };

    private JsonObject UpdateTimeToLive(JsonObject request)
    {
        var table = Find(request);
        table.TimeToLive = request["TimeToLiveSpecification"]!.DeepClone().AsObject();
        return new JsonObject { ["TimeToLiveSpecification"] = table.TimeToLive.DeepClone() };
    }

    private JsonObject DescribeTimeToLive(JsonObject request)
    {
        var table = Find(request);
        var description = new JsonObject { ["TimeToLiveStatus"] = table.TimeToLive is null ? "DISABLED" : "ENABLED" };
        if (table.TimeToLive is { } ttl)
        {
            description["AttributeName"] = ttl["AttributeName"]!.DeepClone();
        }

        return new JsonObject { ["TimeToLiveDescription"] = description };
    }

    private JsonObject GetItem(JsonObject request)
    {
        var table = Find(request);
        var item = table.Get(KeyOf(table, request["Key"]!.AsObject()));
        return item is null ? [] : new JsonObject { ["Item"] = item.DeepClone() };
    }

    private JsonObject PutItem(JsonObject request)
    {
        var table = Find(request);
        var write = PreparePut(table, request);
        Check(table, write, cancellation: false);
        Apply(table, write);
        return [];
    }

    private JsonObject UpdateItem(JsonObject request)
    {
        var table = Find(request);
        var write = PrepareUpdate(table, request);
        Check(table, write, cancellation: false);
        Apply(table, write);
        return [];
    }

    private JsonObject DeleteItem(JsonObject request)
    {
        var table = Find(request);
        var write = PrepareDelete(table, request);
        Check(table, write, cancellation: false);
        Apply(table, write);
        return [];
    }

    /// <summary>Up to 25 puts and deletes across tables, checked whole before any is applied; never leaves any unprocessed.</summary>
    private JsonObject BatchWriteItem(JsonObject request)
    {
        var writes = new List<(Table Table, Write Write)>();
        foreach (var (name, operations) in request["RequestItems"]!.AsObject())
        {
            var table = _tables.TryGetValue(name, out var found) ? found : throw new DynamoError("ResourceNotFoundException", "Requested resource not found");
            foreach (var operation in operations!.AsArray().Select(o => o!.AsObject()))
            {
                writes.Add((table, operation.Single() switch
                {
                    ("PutRequest", var body) => PreparePut(table, body!.AsObject()),
                    ("DeleteRequest", var body) => PrepareDelete(table, body!.AsObject()),
                    var (kind, _) => throw new DynamoError("ValidationException", $"BatchWriteItem does not take {kind}."),
                }));
            }
        }

        if (writes.Count is 0 or > 25)
        {
            throw new DynamoError("ValidationException", "1 validation error detected: Member must have length less than or equal to 25");
        }

        if (writes.Select(w => (w.Table.Name, w.Write.Key)).Distinct().Count() != writes.Count)
        {
            throw new DynamoError("ValidationException", "Provided list of item keys contains duplicates");
        }

        foreach (var (table, write) in writes)
        {
            Apply(table, write);
        }

        return new JsonObject { ["UnprocessedItems"] = new JsonObject() };
    }

    private JsonObject TransactWriteItems(JsonObject request)
    {
        var items = request["TransactItems"]!.AsArray();
        if (items.Count is 0 or > 100)
        {
            throw new DynamoError("ValidationException", "1 validation error detected: Member must have length less than or equal to 100");
        }

        var writes = new List<(Table Table, Write Write)>();
        foreach (var entry in items.Select(i => i!.AsObject()))
        {
            var (kind, body) = entry.Single();
            var operation = body!.AsObject();
            var table = Find(operation);
            writes.Add((table, kind switch
            {
                "Put" => PreparePut(table, operation),
                "Update" => PrepareUpdate(table, operation),
                "Delete" => PrepareDelete(table, operation),
                _ => throw new DynamoError("ValidationException", $"The fake does not serve {kind} in a transaction."),
            }));
        }

        if (writes.Select(w => (w.Table.Name, w.Write.Key)).Distinct().Count() != writes.Count)
        {
            throw new DynamoError("ValidationException", "Transaction request cannot include multiple operations on one item");
        }

        var reasons = writes.Select(w => Passes(w.Table, w.Write) ? "None" : "ConditionalCheckFailed").ToList();
        if (reasons.Any(r => r != "None"))
        {
            throw new DynamoError("TransactionCanceledException", $"Transaction cancelled, please refer cancellation reasons for specific reasons [{string.Join(", ", reasons)}]") { Reasons = reasons };
        }

        foreach (var (table, write) in writes)
        {
            Apply(table, write);
        }

        return [];
    }

    private JsonObject Query(JsonObject request)
    {
        var table = Find(request);
        if (request.ContainsKey("FilterExpression"))
        {
            throw new DynamoError("ValidationException", "The fake queries without filters.");
        }

        // The table's own keys, or a global secondary index's.
        var (partitionKey, sortKey) = (table.PartitionKey, table.SortKey);
        if (request["IndexName"]?.GetValue<string>() is { } indexName)
        {
            var index = (table.Definition["GlobalSecondaryIndexes"] as JsonArray)?.Select(i => i!.AsObject()).FirstOrDefault(i => Text(i, "IndexName") == indexName)
                ?? throw new DynamoError("ValidationException", $"The table does not have the specified index: {indexName}");
            var keys = index["KeySchema"]!.AsArray().Select(k => k!.AsObject()).ToList();
            partitionKey = Text(keys.Single(k => Text(k, "KeyType") == "HASH"), "AttributeName");
            sortKey = keys.SingleOrDefault(k => Text(k, "KeyType") == "RANGE") is { } range ? Text(range, "AttributeName") : null;
        }

        var names = request["ExpressionAttributeNames"]?.AsObject();
        var values = request["ExpressionAttributeValues"]?.AsObject();
        var condition = KeyCondition().Match(Text(request, "KeyConditionExpression").Trim());
        if (!condition.Success || Resolve(condition.Groups["pk"].Value, names) != partitionKey
            || (condition.Groups["sk"].Success && Resolve(condition.Groups["sk"].Value, names) != sortKey))
        {
            throw new DynamoError("ValidationException", "The fake understands \"pk = :v\", \"pk = :v AND begins_with(sk, :p)\" and \"pk = :v AND sk > :s\" only.");
        }

        var pk = Scalar(values![condition.Groups["pkv"].Value]!);
        var prefix = condition.Groups["skv"].Success ? Scalar(values[condition.Groups["skv"].Value]!) : string.Empty;
        if (pk.Length == 0 || (condition.Groups["skv"].Success && prefix.Length == 0))
        {
            throw new DynamoError("ValidationException", "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value.");
        }

        var greaterThan = condition.Groups["gtv"].Success ? Scalar(values[condition.Groups["gtv"].Value]!) : null;
        var limit = request["Limit"]?.GetValue<int>() ?? int.MaxValue;

        // Matching items in key order: (sort key, table pk, table sk), so an index's ties are ordered too.
        var matching = table.Items.Values.SelectMany(p => p.Values)
            .Where(item => item[partitionKey] is { } p && Scalar(p) == pk)
            .Select(item => (Item: item, Order: (sortKey is null || item[sortKey] is null ? string.Empty : Scalar(item[sortKey]!), Scalar(item[table.PartitionKey]!), table.SortKey is null ? string.Empty : Scalar(item[table.SortKey]!))))
            .Where(m => m.Order.Item1.StartsWith(prefix, StringComparison.Ordinal) && (greaterThan is null || string.CompareOrdinal(m.Order.Item1, greaterThan) > 0))
            .OrderBy(m => m.Order.Item1, StringComparer.Ordinal).ThenBy(m => m.Order.Item2, StringComparer.Ordinal).ThenBy(m => m.Order.Item3, StringComparer.Ordinal);
        (string, string, string)? start = request["ExclusiveStartKey"] is JsonObject startKey
            ? (sortKey is null ? string.Empty : Scalar(startKey[sortKey]!), Scalar(startKey[table.PartitionKey]!), table.SortKey is null ? string.Empty : Scalar(startKey[table.SortKey]!))
            : null;
        var page = new JsonArray();
        JsonObject? last = null;
        foreach (var (item, order) in matching)
        {
            if (start is { } after && Compare(order, after) <= 0)
            {
                continue;
            }

            if (page.Count == limit)
            {
                break;
            }

            page.Add(item.DeepClone());
            last = item;
        }

        var response = new JsonObject { ["Items"] = page, ["Count"] = page.Count, ["ScannedCount"] = page.Count };
        if (page.Count == limit && last is not null)
        {
            var key = new JsonObject { [table.PartitionKey] = last[table.PartitionKey]!.DeepClone() };
            foreach (var name in new[] { table.SortKey, partitionKey, sortKey })
            {
                if (name is not null && last[name] is { } value)
                {
                    key[name] = value.DeepClone();
                }
            }

            response["LastEvaluatedKey"] = key;
        }

        return response;
    }

    private static int Compare((string, string, string) a, (string, string, string) b)
    {
        var first = string.CompareOrdinal(a.Item1, b.Item1);
        if (first != 0)
        {
            return first;
        }

        var second = string.CompareOrdinal(a.Item2, b.Item2);
        return second != 0 ? second : string.CompareOrdinal(a.Item3, b.Item3);
    }

    private static Write PreparePut(Table table, JsonObject request)
    {
        var item = request["Item"]!.DeepClone().AsObject();
        var key = KeyOf(table, item);
        CheckSize(item);
        return new Write(key, Condition(request), _ => item);
    }

    private static Write PrepareDelete(Table table, JsonObject request) =>
        new(KeyOf(table, request["Key"]!.AsObject()), Condition(request), _ => null);

    private static Write PrepareUpdate(Table table, JsonObject request)
    {
        var keyAttributes = request["Key"]!.AsObject();
        var key = KeyOf(table, keyAttributes);
        var names = request["ExpressionAttributeNames"]?.AsObject();
        var values = request["ExpressionAttributeValues"]?.AsObject();
        var expression = Text(request, "UpdateExpression").Trim();
        if (!expression.StartsWith("SET ", StringComparison.Ordinal))
        {
            throw new DynamoError("ValidationException", "The fake understands SET update expressions only.");
        }

        var assignments = new List<(string Name, string Value, bool IfNotExists)>();
        foreach (var part in TopLevelParts(expression[4..]))
        {
            var match = Assignment().Match(part.Trim());
            if (!match.Success || (match.Groups["ine"].Success && match.Groups["ine"].Value != match.Groups["name"].Value))
            {
                throw new DynamoError("ValidationException", $"The fake does not understand the assignment '{part.Trim()}'.");
            }

            assignments.Add((Resolve(match.Groups["name"].Value, names), match.Groups["value"].Value, match.Groups["ine"].Success));
        }

        return new Write(key, Condition(request), existing =>
        {
            var item = existing?.DeepClone().AsObject() ?? keyAttributes.DeepClone().AsObject();
            foreach (var (name, value, ifNotExists) in assignments)
            {
                if (!(ifNotExists && item.ContainsKey(name)))
                {
                    item[name] = (values?[value] ?? throw new DynamoError("ValidationException", $"No value for {value}.")).DeepClone();
                }
            }

            CheckSize(item);
            return item;
        });
    }

    /// <summary>The comma-separated parts of an expression, commas inside parentheses left alone.</summary>
    private static List<string> TopLevelParts(string expression)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < expression.Length; i++)
        {
            depth += expression[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (expression[i] == ',' && depth == 0)
            {
                parts.Add(expression[start..i]);
                start = i + 1;
            }
        }

        parts.Add(expression[start..]);
        return parts;
    }

    /// <summary>
    /// Conditions joined by OR and AND (AND binding tighter), each attribute_not_exists / attribute_exists of one attribute or a numeric comparison of
    /// one attribute with a value (false when the attribute is absent); or no condition.
    /// </summary>
    private static Func<JsonObject?, bool> Condition(JsonObject request)
    {
        if (request["ConditionExpression"]?.GetValue<string>() is not { } expression)
        {
            return static _ => true;
        }

        var names = request["ExpressionAttributeNames"]?.AsObject();
        var values = request["ExpressionAttributeValues"]?.AsObject();
        var parts = OrSeparator().Split(expression.Trim())
            .Select(alternative => AndSeparator().Split(alternative.Trim()).Select(part => OneCondition(part.Trim(), expression, names, values)).ToList())
            .ToList();
        return item => parts.Any(all => all.All(part => part(item)));
    }

    private static Func<JsonObject?, bool> OneCondition(string part, string expression, JsonObject? names, JsonObject? values)
    {
        var match = ExistsCondition().Match(part);
        if (match.Success)
        {
            var name = Resolve(match.Groups["name"].Value, names);
            var mustExist = match.Groups["fn"].Value == "attribute_exists";
            return item => (item is not null && item.ContainsKey(name)) == mustExist;
        }

        var comparison = Comparison().Match(part);
        if (comparison.Success && values?[comparison.Groups["value"].Value]?["N"]?.GetValue<string>() is { } number)
        {
            var name = Resolve(comparison.Groups["name"].Value, names);
            var right = decimal.Parse(number, System.Globalization.CultureInfo.InvariantCulture);
            var op = comparison.Groups["op"].Value;
            return item =>
            {
                if (item?[name]?["N"]?.GetValue<string>() is not { } stored)
                {
                    return false;
                }

                var left = decimal.Parse(stored, System.Globalization.CultureInfo.InvariantCulture);
                return op switch
                {
                    "<" => left < right,
                    "<=" => left <= right,
                    ">" => left > right,
                    ">=" => left >= right,
                    _ => left == right,
                };
            };
        }

        throw new DynamoError("ValidationException", $"The fake does not understand the condition '{expression}'.");
    }

    [GeneratedRegex(@"\s+OR\s+", RegexOptions.IgnoreCase)]
    private static partial Regex OrSeparator();

    [GeneratedRegex(@"\s+AND\s+", RegexOptions.IgnoreCase)]
    private static partial Regex AndSeparator();

    [GeneratedRegex(@"^(?<name>#?\w+)\s*(?<op><=|>=|<|>|=)\s*(?<value>:\w+)$")]
    private static partial Regex Comparison();

    private static bool Passes(Table table, Write write) => write.Condition(table.Get(write.Key));

    private static void Check(Table table, Write write, bool cancellation)
    {
        if (!Passes(table, write))
        {
            throw cancellation
                ? new DynamoError("TransactionCanceledException", "Transaction cancelled")
                : new DynamoError("ConditionalCheckFailedException", "The conditional request failed");
        }
    }

    private static void Apply(Table table, Write write)
    {
        var item = write.Apply(table.Get(write.Key));
        if (item is null)
        {
            if (table.Items.TryGetValue(write.Key.Pk, out var partition))
            {
                partition.Remove(write.Key.Sk);
            }

            return;
        }

        if (!table.Items.TryGetValue(write.Key.Pk, out var items))
        {
            table.Items[write.Key.Pk] = items = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        }

        items[write.Key.Sk] = item;
    }

    private static void CheckSize(JsonObject item)
    {
        var size = 0;
        foreach (var (name, value) in item)
        {
            size += Encoding.UTF8.GetByteCount(name) + (value!.AsObject().First() is var (type, scalar) && type == "S"
                ? Encoding.UTF8.GetByteCount(scalar!.GetValue<string>())
                : Encoding.UTF8.GetByteCount(value.ToJsonString()));
        }

        if (size > MaxItemBytes)
        {
            throw new DynamoError("ValidationException", "Item size has exceeded the maximum allowed size");
        }
    }

    private static ItemKey KeyOf(Table table, JsonObject attributes)
    {
        var pk = attributes[table.PartitionKey] is { } p ? Scalar(p) : throw new DynamoError("ValidationException", "One of the required keys was not given a value");
        var sk = table.SortKey is null ? string.Empty
            : attributes[table.SortKey] is { } s ? Scalar(s) : throw new DynamoError("ValidationException", "One of the required keys was not given a value");
        if (Encoding.UTF8.GetByteCount(pk) > 2048 || pk.Length == 0)
        {
            throw new DynamoError("ValidationException", "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes");
        }

        if (Encoding.UTF8.GetByteCount(sk) > 1024)
        {
            throw new DynamoError("ValidationException", "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes");
        }

        return new ItemKey(pk, sk);
    }

    private Table Find(JsonObject request)
    {
        var name = Text(request, "TableName");
        return _tables.TryGetValue(name, out var table) ? table : throw new DynamoError("ResourceNotFoundException", "Requested resource not found");
    }

    private static JsonObject Description(Table table)
    {
        var description = table.Definition.DeepClone().AsObject();
        description["TableStatus"] = "ACTIVE";
        description["TableArn"] = $"arn:aws:dynamodb:us-east-1:000000000000:table/{table.Name}";
        description["ItemCount"] = table.Items.Values.Sum(p => p.Count);
        if (description["GlobalSecondaryIndexes"] is JsonArray indexes)
        {
            foreach (var index in indexes)
            {
                index!["IndexStatus"] = "ACTIVE";
            }
        }

        return description;
    }

    private static string Resolve(string name, JsonObject? names) =>
        name.StartsWith('#') ? names?[name]?.GetValue<string>() ?? throw new DynamoError("ValidationException", $"No name for {name}.") : name;

    private static string Scalar(JsonNode value) => value.AsObject().First().Value!.GetValue<string>();

    private static string Text(JsonObject node, string name) =>
        node[name]?.GetValue<string>() ?? throw new DynamoError("ValidationException", $"{name} is required.");

    [GeneratedRegex(@"^(?<pk>#?\w+)\s*=\s*(?<pkv>:\w+)(\s+(?i:AND)\s+(begins_with\(\s*(?<sk>#?\w+)\s*,\s*(?<skv>:\w+)\s*\)|(?<sk>#?\w+)\s*>\s*(?<gtv>:\w+)))?$")]
    private static partial Regex KeyCondition();

    [GeneratedRegex(@"^(?<name>#?\w+)\s*=\s*(if_not_exists\(\s*(?<ine>#?\w+)\s*,\s*(?<value>:\w+)\s*\)|(?<value>:\w+))$")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"^(?<fn>attribute_not_exists|attribute_exists)\(\s*(?<name>#?\w+)\s*\)$")]
    private static partial Regex ExistsCondition();

    private readonly record struct ItemKey(string Pk, string Sk);

    private sealed record Write(ItemKey Key, Func<JsonObject?, bool> Condition, Func<JsonObject?, JsonObject?> Apply);

    private sealed class Table(string name, string partitionKey, string? sortKey, JsonObject definition)
    {
        public string Name { get; } = name;

        public string PartitionKey { get; } = partitionKey;

        public string? SortKey { get; } = sortKey;

        public JsonObject Definition { get; } = definition;

        public JsonObject? TimeToLive { get; set; }

        public Dictionary<string, SortedDictionary<string, JsonObject>> Items { get; } = new(StringComparer.Ordinal);

        public JsonObject? Get(ItemKey key) =>
            Items.TryGetValue(key.Pk, out var partition) && partition.TryGetValue(key.Sk, out var item) ? item : null;
    }

    private sealed class DynamoError(string type, string message) : Exception(message)
    {
        public string Type { get; } = type;

        public IReadOnlyList<string>? Reasons { get; init; }
    }
}
