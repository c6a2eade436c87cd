using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Tools;
using VoiceAgent.Infrastructure.Buffers;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.TableDesign;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>
/// Domain objects to and from DynamoDB items. Reading is strict: a missing or mistyped field becomes a
/// <see cref="StoredDataException"/> naming the item (pk/sk) and the field, never a null reference later.
/// </summary>
internal static class ItemCodec
{
    public static Dictionary<string, AttributeValue> FromCall(Call call, long expiresAt, int indexShards)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            [Pk] = S(CallPk(call.CallSid)),
            [Sk] = S(CallSk),
            [ItemType] = S("call"),
            ["callSid"] = S(call.CallSid),
            ["from"] = S(call.From),
            ["to"] = S(call.To),
            ["useCaseId"] = S(call.UseCaseId),
            ["status"] = S(call.Status.ToString()),
            ["createdAt"] = S(Time(call.CreatedAt)),
            [Gsi1Pk] = S(DayIndexPk(CallsIndex, call.CreatedAt, call.CallSid, indexShards)),
            [Gsi1Sk] = S(Time(call.CreatedAt) + "#" + call.CallSid),
            [ExpiresAt] = N(expiresAt),
        };
        AddIfSet(item, "connectedAt", call.ConnectedAt is { } c ? Time(c) : null);
        AddIfSet(item, "endedAt", call.EndedAt is { } e ? Time(e) : null);
        AddIfSet(item, "sessionId", call.SessionId);
        AddIfSet(item, "handoffData", call.HandoffData);
        AddIfSet(item, "errorCode", call.ErrorCode);
        AddIfSet(item, "reportedSessionId", call.ReportedSessionId);
        if (call.SessionSeconds > 0)
        {
            item["sessionSeconds"] = N(call.SessionSeconds);
        }

        if (call.IsEnded)
        {
            // Written only once the call has ended, so a late write of the live call (its session closing on one
            // instance while another answered the end) cannot take the end back: reads prefer it to "status".
            item["endStatus"] = S(call.Status.ToString());
        }

        if (call.SpeechFallbackUsed)
        {
            item["speechFallback"] = new AttributeValue { BOOL = true };
        }

        if (call.FirstTextMs.Count > 0)
        {
            item["firstTextMs"] = new AttributeValue { L = [.. call.FirstTextMs.Select(ms => N(ms))] };
            item["firstTextP50Ms"] = N(call.FirstTextP50Ms!.Value);
            item["firstTextP95Ms"] = N(call.FirstTextP95Ms!.Value);
        }

        if (call.Fold is { } fold)
        {
            item["contextSummary"] = S(fold.Summary);
            item["contextFoldedMessages"] = N(fold.FoldedMessages);
        }

        AddUsage(item, call.Usage);
        if (call.CostUsd > 0)
        {
            item["costUsd"] = new AttributeValue { N = call.CostUsd.ToString(CultureInfo.InvariantCulture) };
        }

        return item;
    }

    /// <summary>The post-call record's attributes on the call item.</summary>
    public static Dictionary<string, AttributeValue> RecordAttributes(CallRecord record)
    {
        var item = new Dictionary<string, AttributeValue>(StringComparer.Ordinal)
        {
            ["outcome"] = S(record.Outcome),
            ["durationSeconds"] = N(record.DurationSeconds),
            ["turns"] = N(record.Turns),
            ["interruptions"] = N(record.Interruptions),
            ["inputTokens"] = N(record.InputTokens),
            ["outputTokens"] = N(record.OutputTokens),
            ["costUsd"] = new AttributeValue { N = record.CostUsd.ToString(CultureInfo.InvariantCulture) },
            ["recordedAt"] = S(Time(record.RecordedAt)),
        };
        AddIfSet(item, "summary", record.Summary);
        AddIfSet(item, "extraction", record.ExtractionJson);
        return item;
    }

    private static CallRecord? ReadRecord(ItemReader reader) =>
        reader.OptionalTime("recordedAt") is { } recordedAt
            ? new CallRecord(
                reader.String("outcome"),
                reader.OptionalString("summary"),
                reader.OptionalString("extraction"),
                (int)(reader.OptionalLong("durationSeconds") ?? 0),
                (int)(reader.OptionalLong("turns") ?? 0),
                (int)(reader.OptionalLong("interruptions") ?? 0),
                reader.OptionalLong("inputTokens") ?? 0,
                reader.OptionalLong("outputTokens") ?? 0,
                reader.OptionalDecimal("costUsd") ?? 0m,
                recordedAt)
            : null;

    public static Call ToCall(Dictionary<string, AttributeValue> item)
    {
        var reader = new ItemReader(item);
        try
        {
            var call = Call.Restore(
                reader.String("callSid"),
                reader.String("from", allowEmpty: true),
                reader.String("to", allowEmpty: true),
                reader.String("useCaseId"),
                reader.OptionalString("endStatus") is not null ? reader.Enum<CallStatus>("endStatus") : reader.Enum<CallStatus>("status"),
                reader.Time("createdAt"),
                reader.OptionalTime("connectedAt"),
                reader.OptionalTime("endedAt"),
                reader.OptionalString("sessionId"),
                reader.OptionalString("handoffData"),
                (int)(reader.OptionalLong("sessionSeconds") ?? 0),
                reader.OptionalString("errorCode"),
                reader.OptionalString("reportedSessionId"));
            call.AddUsage(ReadUsage(reader) ?? TokenUsage.None, reader.OptionalDecimal("costUsd") ?? 0m);
            if (item.TryGetValue("speechFallback", out var fallback) && fallback.BOOL == true)
            {
                call.UseSpeechFallback();
            }

            if (ReadRecord(reader) is { } record)
            {
                call.AttachRecord(record);
            }

            if (item.TryGetValue("firstTextMs", out var latencies) && latencies.L is { } list)
            {
                foreach (var ms in list)
                {
                    call.RecordFirstText(int.TryParse(ms.N, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : throw reader.Error("field 'firstTextMs' holds a value that is not a number"));
                }
            }

            if (reader.OptionalString("contextSummary") is { } summary)
            {
                call.FoldContext(summary, (int)(reader.OptionalLong("contextFoldedMessages") ?? throw reader.Error("field 'contextSummary' comes without 'contextFoldedMessages'")));
            }

            return call;
        }
        catch (DomainException ex)
        {
            throw reader.Error(ex.Message);
        }
    }

    public static Dictionary<string, AttributeValue> FromMessage(string callSid, IndexedMessage message, long expiresAt)
    {
        var item = MessageItem(callSid, message, expiresAt);
        AddIfSet(item, "moderation", message.Message.Moderation);
        AddIfSet(item, "timings", message.Message.Timings is { } timings ? TimingsJson.ToJson(timings) : null);
        if (message.Message.Usage is { } usage)
        {
            AddUsage(item, usage);
        }

        return item;
    }

    /// <summary>
    /// The item <see cref="FromMessage"/> makes, written straight as DynamoDB JSON (the same bytes
    /// <see cref="AttributeJson.WriteMap"/> writes of it): the journal writes one per message of every turn, and the
    /// attribute objects, their dictionary and the content's string were an eighth of what a turn allocated.
    /// </summary>
    public static void WriteMessage(Utf8JsonWriter json, string callSid, IndexedMessage message, long expiresAt)
    {
        json.WriteStartObject();
        WriteS(json, Pk, CallPk(callSid));
        WriteS(json, Sk, MessageSk(message.Index));
        WriteS(json, ItemType, "message");
        WriteN(json, "position", message.Index);
        WriteS(json, "role", message.Message.Role == ConversationRole.User ? "user" : "assistant");
        using (var scratch = ScratchJson.Start())
        {
            ContentJson.Write(scratch.Writer, message.Message.Content);
            if (scratch.Written.Length <= ContentLimit)
            {
                WriteS(json, "content", scratch.Written);
            }
            else
            {
                WriteS(json, "content", FittedContent(message.Message.Content));
            }

            WriteN(json, ExpiresAt, expiresAt);
            if (!string.IsNullOrEmpty(message.Message.Moderation))
            {
                WriteS(json, "moderation", message.Message.Moderation);
            }

            if (message.Message.Timings is { } timings)
            {
                scratch.Restart();
                TimingsJson.Write(scratch.Writer, timings);
                WriteS(json, "timings", scratch.Written);
            }
        }

        if (message.Message.Usage is { IsNone: false } usage)
        {
            WriteN(json, "inputTokens", usage.Input);
            WriteN(json, "outputTokens", usage.Output);
            WriteN(json, "cacheReadTokens", usage.CacheRead);
            WriteN(json, "cacheWriteTokens", usage.CacheWrite);
        }

        json.WriteEndObject();
    }

    private static void WriteS(Utf8JsonWriter json, string name, ReadOnlySpan<char> value)
    {
        json.WriteStartObject(name);
        json.WriteString("S", value);
        json.WriteEndObject();
    }

    private static void WriteS(Utf8JsonWriter json, string name, ReadOnlySpan<byte> utf8)
    {
        json.WriteStartObject(name);
        json.WriteString("S", utf8);
        json.WriteEndObject();
    }

    private static void WriteN(Utf8JsonWriter json, string name, long value)
    {
        Span<char> digits = stackalloc char[20];
        value.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
        json.WriteStartObject(name);
        json.WriteString("N", digits[..length]);
        json.WriteEndObject();
    }

    // Sized for every attribute a message item can have (7 here, moderation, timings and four token counts): the
    // journal makes one per message, and growing it twice was 2-3 % of the bytes a turn allocated.
    private static Dictionary<string, AttributeValue> MessageItem(string callSid, IndexedMessage message, long expiresAt) => new(13)
    {
        [Pk] = S(CallPk(callSid)),
        [Sk] = S(MessageSk(message.Index)),
        [ItemType] = S("message"),
        ["position"] = N(message.Index),
        ["role"] = S(message.Message.Role == ConversationRole.User ? "user" : "assistant"),
        ["content"] = S(FittedContent(message.Message.Content)),
        [ExpiresAt] = N(expiresAt),
    };

    public static ConversationMessage ToMessage(Dictionary<string, AttributeValue> item)
    {
        var reader = new ItemReader(item);
        var role = reader.String("role") switch
        {
            "user" => ConversationRole.User,
            "assistant" => ConversationRole.Assistant,
            var other => throw reader.Error($"field 'role' is '{other}', expected user or assistant"),
        };
        return new ConversationMessage(role, ReadContent(reader.String("content"), reader)) { Moderation = reader.OptionalString("moderation"), Usage = ReadUsage(reader), Timings = ReadTimings(reader) };
    }

    /// <summary>Token counts on a message or call item: inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens.</summary>
    private static void AddUsage(Dictionary<string, AttributeValue> item, TokenUsage usage)
    {
        if (usage.IsNone)
        {
            return;
        }

        item["inputTokens"] = N(usage.Input);
        item["outputTokens"] = N(usage.Output);
        item["cacheReadTokens"] = N(usage.CacheRead);
        item["cacheWriteTokens"] = N(usage.CacheWrite);
    }

    private static TurnTimings? ReadTimings(ItemReader reader)
    {
        if (reader.OptionalString("timings") is not { } json)
        {
            return null;
        }

        try
        {
            return TimingsJson.FromJson(json);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw reader.Error("field 'timings' is not a timings object");
        }
    }

    private static TokenUsage? ReadUsage(ItemReader reader) =>
        reader.OptionalLong("inputTokens") is { } input
            ? new TokenUsage(input, reader.OptionalLong("outputTokens") ?? 0, reader.OptionalLong("cacheReadTokens") ?? 0, reader.OptionalLong("cacheWriteTokens") ?? 0)
            : null;

    public static Dictionary<string, AttributeValue> FromToolCall(ToolCall toolCall, long expiresAt)
    {
        var item = ToolCallItem(toolCall, toolCall.InputJson, toolCall.Result, expiresAt);
        var excess = ItemSize.Of(item) - ItemSize.Budget;
        if (excess <= 0)
        {
            return item;
        }

        // Too large to store whole: the result gives way first, then the input (kept as valid JSON).
        var result = ItemSize.Cut(toolCall.Result, Math.Max(1_024, System.Text.Encoding.UTF8.GetByteCount(toolCall.Result) - excess));
        item = ToolCallItem(toolCall, toolCall.InputJson, result, expiresAt);
        return ItemSize.Of(item) <= ItemSize.Budget ? item : ToolCallItem(toolCall, CutInput(toolCall.InputJson), result, expiresAt);
    }

    private static Dictionary<string, AttributeValue> ToolCallItem(ToolCall toolCall, string input, string result, long expiresAt) => new()
    {
        [Pk] = S(CallPk(toolCall.CallSid)),
        [Sk] = S(ToolSk(toolCall.ToolUseId)),
        [ItemType] = S("toolcall"),
        ["callSid"] = S(toolCall.CallSid),
        ["toolUseId"] = S(toolCall.ToolUseId),
        ["name"] = S(toolCall.Name),
        ["input"] = S(input),
        ["status"] = S(toolCall.Status.ToString()),
        ["result"] = S(result),
        ["startedAt"] = S(Time(toolCall.StartedAt)),
        ["durationMs"] = N((long)toolCall.Duration.TotalMilliseconds),
        [ExpiresAt] = N(expiresAt),
    };

    public static ToolCall ToToolCall(Dictionary<string, AttributeValue> item)
    {
        var reader = new ItemReader(item);
        try
        {
            return new ToolCall(
                reader.String("callSid"),
                reader.String("toolUseId"),
                reader.String("name"),
                reader.String("input", allowEmpty: true),
                reader.Enum<ToolResultStatus>("status"),
                reader.String("result", allowEmpty: true),
                reader.Time("startedAt"),
                TimeSpan.FromMilliseconds(reader.Long("durationMs")));
        }
        catch (DomainException ex)
        {
            throw reader.Error(ex.Message);
        }
    }

    public static AttributeValue S(string value) => new() { S = value };

    public static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    private static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static void AddIfSet(Dictionary<string, AttributeValue> item, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            item[name] = S(value);
        }
    }

    /// <summary>The UTF-8 bytes a message's content may take in its item.</summary>
    private const int ContentLimit = ItemSize.Budget - 2_000;

    /// <summary>
    /// A message's content as stored: whole when it fits in an item; otherwise its largest blocks cut, with a marker,
    /// until it does (a tool use's input becomes a small JSON object saying so, so the content stays valid).
    /// </summary>
    private static string FittedContent(IReadOnlyList<ContentBlock> content)
    {
        var json = ContentJson.Write(content);
        var size = System.Text.Encoding.UTF8.GetByteCount(json);
        if (size <= ContentLimit)
        {
            return json;
        }

        var blocks = content.ToList();
        for (var attempt = 0; attempt < blocks.Count + 8 && size > ContentLimit; attempt++)
        {
            var largest = 0;
            for (var i = 1; i < blocks.Count; i++)
            {
                if (Length(blocks[i]) > Length(blocks[largest]))
                {
                    largest = i;
                }
            }

            var block = blocks[largest];
            var target = (int)Math.Max(256, Length(block) - (size - ContentLimit) - 512L);
            blocks[largest] = block switch
            {
                TextBlock t => new TextBlock(ItemSize.Cut(t.Text, target)),
                ToolResultBlock r => r with { Content = ItemSize.Cut(r.Content, target) },
                ToolUseBlock u => u with { InputJson = CutInput(u.InputJson) },
                _ => block,
            };
            json = ContentJson.Write(blocks);
            size = System.Text.Encoding.UTF8.GetByteCount(json);
        }

        return json;
    }

    private static int Length(ContentBlock block) => block switch
    {
        TextBlock t => t.Text.Length,
        ToolResultBlock r => r.Content.Length,
        ToolUseBlock u => u.InputJson.Length,
        _ => 0,
    };

    private static string CutInput(string inputJson) =>
        $"{{\"_cut\":\"{inputJson.Length} characters of input not stored\"}}";

    private static List<ContentBlock> ReadContent(string json, ItemReader reader)
    {
        try
        {
            return ContentJson.Read(json);
        }
        catch (FormatException ex)
        {
            throw reader.Error($"field 'content': {ex.Message}");
        }
    }

    /// <summary>Typed, checked access to an item's attributes; errors name the item.</summary>
    internal readonly struct ItemReader(Dictionary<string, AttributeValue> item)
    {
        /// <summary>The item's keys as errors (which are logged) may show them: CallSids and numbers masked.</summary>
        public string Name => $"{LogIds.Key(Key(Pk))}/{Key(Sk)}";

        public string String(string field, bool allowEmpty = false)
        {
            var value = OptionalString(field);
            if (value is null || (!allowEmpty && value.Length == 0))
            {
                throw Error($"field '{field}' is missing or not a string");
            }

            return value;
        }

        public string? OptionalString(string field)
        {
            if (!item.TryGetValue(field, out var value) || value.NULL == true)
            {
                return null;
            }

            return value.S ?? throw Error($"field '{field}' is not a string");
        }

        public long Long(string field) =>
            OptionalLong(field) ?? throw Error($"field '{field}' is missing or not an integer");

        public long? OptionalLong(string field)
        {
            if (!item.TryGetValue(field, out var value) || value.NULL == true)
            {
                return null;
            }

            return value.N is { } n && long.TryParse(n, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw Error($"field '{field}' is not an integer");
        }

        public decimal? OptionalDecimal(string field)
        {
            if (!item.TryGetValue(field, out var value) || value.NULL == true)
            {
                return null;
            }

            return value.N is { } n && decimal.TryParse(n, NumberStyles.Number, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw Error($"field '{field}' is not a number");
        }

        public DateTimeOffset Time(string field) =>
            OptionalTime(field) ?? throw Error($"field '{field}' is missing");

        public DateTimeOffset? OptionalTime(string field)
        {
            var text = OptionalString(field);
            if (text is null)
            {
                return null;
            }

            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
                ? parsed
                : throw Error($"field '{field}' is not a timestamp");
        }

        public T Enum<T>(string field)
            where T : struct, Enum =>
            System.Enum.TryParse<T>(String(field), ignoreCase: true, out var parsed) && System.Enum.IsDefined(parsed)
                ? parsed
                : throw Error($"field '{field}' is not a valid {typeof(T).Name}");

        public StoredDataException Error(string problem) => new($"DynamoDB item {Name}: {problem}.");

        private string Key(string name) => item.TryGetValue(name, out var value) && value.S is { } s ? s : "?";
    }
}
