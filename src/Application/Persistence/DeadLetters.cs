using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Tools;

namespace VoiceAgent.Application.Persistence;

/// <summary>
/// A journal entry the store refused for good, as one JSON document: when, which call, why, and the entry itself
/// (<c>{"at","callSid","entry","reason","data"}</c>), so it can be read and replayed later.
/// </summary>
internal static class DeadLetters
{
    public static string Format(JournalEntry entry, string reason, DateTimeOffset at)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("at", at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("callSid", entry.CallSid);
            json.WriteString("entry", Kind(entry));
            json.WriteString("reason", reason);
            json.WriteStartObject("data");
            switch (entry)
            {
                case CallCreatedEntry e:
                    WriteCall(json, e.Call);
                    break;
                case CallChangedEntry e:
                    WriteCall(json, e.Call);
                    break;
                case MessagesSavedEntry e:
                    json.WriteStartArray("messages");
                    foreach (var (index, message) in e.Messages)
                    {
                        json.WriteStartObject();
                        json.WriteNumber("index", index);
                        json.WriteString("role", message.Role == ConversationRole.User ? "user" : "assistant");
                        json.WritePropertyName("content");
                        ContentJson.Write(json, message.Content);
                        WriteOptional(json, "moderation", message.Moderation);
                        WriteUsage(json, message.Usage);
                        if (message.Timings is { } timings)
                        {
                            json.WritePropertyName("timings");
                            TimingsJson.Write(json, timings);
                        }

                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                    break;
                case MessageRemovedEntry e:
                    json.WriteNumber("index", e.Index);
                    break;
                case ToolCallEntry e:
                    var t = e.ToolCall;
                    json.WriteString("toolUseId", t.ToolUseId);
                    json.WriteString("name", t.Name);
                    json.WriteString("input", t.InputJson);
                    json.WriteString("status", t.Status.ToString());
                    json.WriteString("result", t.Result);
                    json.WriteString("startedAt", Time(t.StartedAt));
                    json.WriteNumber("durationMs", (long)t.Duration.TotalMilliseconds);
                    break;
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The entry a dead letter holds.</summary>
    /// <exception cref="FormatException">Not a dead letter of this format.</exception>
    public static JournalEntry Parse(string letter)
    {
        try
        {
            using var document = JsonDocument.Parse(letter);
            var root = document.RootElement;
            var callSid = root.GetProperty("callSid").GetString()!;
            var data = root.GetProperty("data");
            return root.GetProperty("entry").GetString() switch
            {
                "callCreated" => new CallCreatedEntry(ReadCall(callSid, data)),
                "callChanged" => new CallChangedEntry(ReadCall(callSid, data)),
                "messagesSaved" => new MessagesSavedEntry(callSid, ReadMessages(data)),
                "messageRemoved" => new MessageRemovedEntry(callSid, data.GetProperty("index").GetInt32()),
                "toolCall" => new ToolCallEntry(new ToolCall(
                    callSid,
                    data.GetProperty("toolUseId").GetString()!,
                    data.GetProperty("name").GetString()!,
                    data.GetProperty("input").GetString()!,
                    Enum.Parse<ToolResultStatus>(data.GetProperty("status").GetString()!),
                    data.GetProperty("result").GetString()!,
                    DateTimeOffset.Parse(data.GetProperty("startedAt").GetString()!, CultureInfo.InvariantCulture),
                    TimeSpan.FromMilliseconds(data.GetProperty("durationMs").GetInt64()))),
                var other => throw new FormatException($"unknown entry '{other}'"),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or Domain.Common.DomainException)
        {
            throw new FormatException($"not a dead letter: {ex.Message}", ex);
        }
    }

    private static string Kind(JournalEntry entry) => entry switch
    {
        CallCreatedEntry => "callCreated",
        CallChangedEntry => "callChanged",
        MessagesSavedEntry => "messagesSaved",
        MessageRemovedEntry => "messageRemoved",
        ToolCallEntry => "toolCall",
        _ => throw new InvalidOperationException($"Unknown journal entry {entry.GetType().Name}."),
    };

    private static void WriteCall(Utf8JsonWriter json, Call call)
    {
        json.WriteString("from", call.From);
        json.WriteString("to", call.To);
        json.WriteString("useCaseId", call.UseCaseId);
        json.WriteString("status", call.Status.ToString());
        json.WriteString("createdAt", Time(call.CreatedAt));
        WriteOptional(json, "connectedAt", call.ConnectedAt is { } c ? Time(c) : null);
        WriteOptional(json, "endedAt", call.EndedAt is { } e ? Time(e) : null);
        WriteOptional(json, "sessionId", call.SessionId);
        WriteOptional(json, "handoffData", call.HandoffData);
        json.WriteNumber("sessionSeconds", call.SessionSeconds);
        WriteOptional(json, "errorCode", call.ErrorCode);
        WriteOptional(json, "reportedSessionId", call.ReportedSessionId);
        WriteUsage(json, call.Usage.IsNone ? null : call.Usage);
        if (call.CostUsd > 0)
        {
            json.WriteNumber("costUsd", call.CostUsd);
        }

        if (call.SpeechFallbackUsed)
        {
            json.WriteBoolean("speechFallback", true);
        }

        if (call.Fold is { } fold)
        {
            json.WriteString("contextSummary", fold.Summary);
            json.WriteNumber("contextFoldedMessages", fold.FoldedMessages);
        }

        if (call.FirstTextMs.Count > 0)
        {
            json.WriteStartArray("firstTextMs");
            foreach (var ms in call.FirstTextMs)
            {
                json.WriteNumberValue(ms);
            }

            json.WriteEndArray();
        }
    }

    private static void WriteUsage(Utf8JsonWriter json, TokenUsage? written)
    {
        if (written is not { } usage)
        {
            return;
        }

        json.WriteStartObject("usage");
        json.WriteNumber("input", usage.Input);
        json.WriteNumber("output", usage.Output);
        json.WriteNumber("cacheRead", usage.CacheRead);
        json.WriteNumber("cacheWrite", usage.CacheWrite);
        json.WriteEndObject();
    }

    private static TokenUsage? ReadUsage(JsonElement element) =>
        element.TryGetProperty("usage", out var usage)
            ? new TokenUsage(usage.GetProperty("input").GetInt64(), usage.GetProperty("output").GetInt64(), usage.GetProperty("cacheRead").GetInt64(), usage.GetProperty("cacheWrite").GetInt64())
            : null;

    private static Call ReadCall(string callSid, JsonElement data)
    {
        var call = RestoreCall(callSid, data);
        call.AddUsage(ReadUsage(data) ?? TokenUsage.None, data.TryGetProperty("costUsd", out var cost) ? cost.GetDecimal() : 0m);
        if (data.TryGetProperty("speechFallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
        {
            call.UseSpeechFallback();
        }

        if (data.TryGetProperty("firstTextMs", out var latencies) && latencies.ValueKind == JsonValueKind.Array)
        {
            foreach (var ms in latencies.EnumerateArray())
            {
                call.RecordFirstText(ms.GetInt32());
            }
        }

        if (data.TryGetProperty("contextSummary", out var summary))
        {
            call.FoldContext(summary.GetString()!, data.GetProperty("contextFoldedMessages").GetInt32());
        }

        return call;
    }

    private static Call RestoreCall(string callSid, JsonElement data) => Call.Restore(
        callSid,
        data.GetProperty("from").GetString()!,
        data.GetProperty("to").GetString()!,
        data.GetProperty("useCaseId").GetString()!,
        Enum.Parse<CallStatus>(data.GetProperty("status").GetString()!),
        DateTimeOffset.Parse(data.GetProperty("createdAt").GetString()!, CultureInfo.InvariantCulture),
        OptionalTime(data, "connectedAt"),
        OptionalTime(data, "endedAt"),
        Optional(data, "sessionId"),
        Optional(data, "handoffData"),
        data.GetProperty("sessionSeconds").GetInt32(),
        Optional(data, "errorCode"),
        Optional(data, "reportedSessionId"));

    private static List<IndexedMessage> ReadMessages(JsonElement data)
    {
        var messages = new List<IndexedMessage>();
        foreach (var item in data.GetProperty("messages").EnumerateArray())
        {
            var role = item.GetProperty("role").GetString() == "user" ? ConversationRole.User : ConversationRole.Assistant;
            messages.Add(new IndexedMessage(
                item.GetProperty("index").GetInt32(),
                new ConversationMessage(role, ContentJson.Read(item.GetProperty("content"))) {
                    Moderation = Optional(item, "moderation"),
                    Usage = ReadUsage(item),
                    Timings = item.TryGetProperty("timings", out var timings) ? TimingsJson.Read(timings) : null,
                }));
        }

        return messages;
    }

    private static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static string? Optional(JsonElement data, string name) =>
        data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? OptionalTime(JsonElement data, string name) =>
        Optional(data, name) is { } text ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture) : null;
}
