using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Tools;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.TableDesign;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>
/// Domain objects to and from DynamoDB items. Reading is strict: a missing or mistyped field becomes a
/// <see cref="StoredDataException"/> naming the item (pk/sk) and the field, never a null reference later.
/// </summary>
internal static class ItemCodec
{
    public static Dictionary<string, AttributeValue> FromCall(Call call, long expiresAt)
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
            [Gsi1Pk] = S("CALLS#" + call.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
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

        return item;
    }

    public static Call ToCall(Dictionary<string, AttributeValue> item)
    {
        var reader = new ItemReader(item);
        try
        {
            return Call.Restore(
                reader.String("callSid"),
                reader.String("from", allowEmpty: true),
                reader.String("to", allowEmpty: true),
                reader.String("useCaseId"),
                reader.Enum<CallStatus>("status"),
                reader.Time("createdAt"),
                reader.OptionalTime("connectedAt"),
                reader.OptionalTime("endedAt"),
                reader.OptionalString("sessionId"),
                reader.OptionalString("handoffData"),
                (int)(reader.OptionalLong("sessionSeconds") ?? 0),
                reader.OptionalString("errorCode"),
                reader.OptionalString("reportedSessionId"));
        }
        catch (DomainException ex)
        {
            throw reader.Error(ex.Message);
        }
    }

    public static Dictionary<string, AttributeValue> FromMessage(string callSid, IndexedMessage message, long expiresAt) => new()
    {
        [Pk] = S(CallPk(callSid)),
        [Sk] = S(MessageSk(message.Index)),
        [ItemType] = S("message"),
        ["position"] = N(message.Index),
        ["role"] = S(message.Message.Role == ConversationRole.User ? "user" : "assistant"),
        ["content"] = S(WriteContent(message.Message.Content)),
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
        return new ConversationMessage(role, ReadContent(reader.String("content"), reader));
    }

    public static Dictionary<string, AttributeValue> FromToolCall(ToolCall toolCall, long expiresAt) => new()
    {
        [Pk] = S(CallPk(toolCall.CallSid)),
        [Sk] = S(ToolSk(toolCall.ToolUseId)),
        [ItemType] = S("toolcall"),
        ["callSid"] = S(toolCall.CallSid),
        ["toolUseId"] = S(toolCall.ToolUseId),
        ["name"] = S(toolCall.Name),
        ["input"] = S(toolCall.InputJson),
        ["status"] = S(toolCall.Status.ToString()),
        ["result"] = S(toolCall.Result),
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

    private static string WriteContent(IReadOnlyList<ContentBlock> content)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var block in content)
            {
                json.WriteStartObject();
                switch (block)
                {
                    case TextBlock t:
                        json.WriteString("text", t.Text);
                        break;
                    case ToolUseBlock u:
                        json.WriteStartObject("toolUse");
                        json.WriteString("toolUseId", u.ToolUseId);
                        json.WriteString("name", u.Name);
                        json.WriteString("input", u.InputJson);
                        json.WriteEndObject();
                        break;
                    case ToolResultBlock r:
                        json.WriteStartObject("toolResult");
                        json.WriteString("toolUseId", r.ToolUseId);
                        json.WriteString("content", r.Content);
                        json.WriteString("status", r.Status == ToolResultStatus.Success ? "success" : "error");
                        json.WriteEndObject();
                        break;
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static List<ContentBlock> ReadContent(string json, ItemReader reader)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw reader.Error("field 'content' is not a JSON array");
            }

            var blocks = new List<ContentBlock>();
            foreach (var element in document.RootElement.EnumerateArray())
            {
                if (element.TryGetProperty("text", out var text))
                {
                    blocks.Add(new TextBlock(text.GetString() ?? string.Empty));
                }
                else if (element.TryGetProperty("toolUse", out var use))
                {
                    blocks.Add(new ToolUseBlock(Required(use, "toolUseId", reader), Required(use, "name", reader), Required(use, "input", reader)));
                }
                else if (element.TryGetProperty("toolResult", out var result))
                {
                    var status = Required(result, "status", reader) == "success" ? ToolResultStatus.Success : ToolResultStatus.Error;
                    blocks.Add(new ToolResultBlock(Required(result, "toolUseId", reader), Required(result, "content", reader), status));
                }
                else
                {
                    throw reader.Error("field 'content' holds a block that is neither text, toolUse nor toolResult");
                }
            }

            return blocks;
        }
        catch (JsonException ex)
        {
            throw reader.Error($"field 'content' is not valid JSON ({ex.Message})");
        }
        catch (InvalidOperationException ex)
        {
            throw reader.Error($"field 'content' has a value of the wrong type ({ex.Message})");
        }
    }

    private static string Required(JsonElement element, string name, ItemReader reader) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw reader.Error($"a content block lacks the string '{name}'");

    /// <summary>Typed, checked access to an item's attributes; errors name the item.</summary>
    internal readonly struct ItemReader(Dictionary<string, AttributeValue> item)
    {
        public string Name => $"{Key(Pk)}/{Key(Sk)}";

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
