using System.Buffers;
using System.Text;
using System.Text.Json;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Persistence;

/// <summary>How tool inputs and results are spelled inside content blocks.</summary>
public enum ContentDialect
{
    /// <summary>As stored: a tool use's input and a tool result's content are strings, kept exactly as they came.</summary>
    Stored,

    /// <summary>As Bedrock's Converse API takes them: the input a JSON object, the result a <c>[{"json"}]</c> or <c>[{"text"}]</c> list.</summary>
    Converse,
}

/// <summary>
/// A message's content blocks as one JSON array: <c>{"text"}</c>, <c>{"toolUse":{toolUseId, name, input}}</c>,
/// <c>{"toolResult":{toolUseId, content, status}}</c>. The one writer of content: the stored form (DynamoDB items, dead
/// letters) and the Converse request's messages differ only in how inputs and results are spelled (<see cref="ContentDialect"/>).
/// </summary>
public static class ContentJson
{
    public static string Write(IReadOnlyList<ContentBlock> content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            Write(json, content);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Writes <paramref name="content"/> as a JSON array in <paramref name="dialect"/>; with <paramref name="closeArray"/>
    /// false the array is left open, for a writer that appends a block of its own.
    /// </summary>
    public static void Write(Utf8JsonWriter json, IReadOnlyList<ContentBlock> content, ContentDialect dialect = ContentDialect.Stored, bool closeArray = true)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(content);
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
                    if (dialect == ContentDialect.Stored)
                    {
                        json.WriteString("input", u.InputJson);
                    }
                    else
                    {
                        // Bedrock takes an object; what the model sent that is not one becomes {}.
                        json.WritePropertyName("input");
                        if (JsonText.IsObject(u.InputJson))
                        {
                            json.WriteRawValue(u.InputJson, skipInputValidation: true);
                        }
                        else
                        {
                            json.WriteStartObject();
                            json.WriteEndObject();
                        }
                    }

                    json.WriteEndObject();
                    break;
                case ReasoningBlock reasoning:
                    json.WriteStartObject("reasoningContent");
                    if (dialect == ContentDialect.Stored)
                    {
                        WriteIfPresent(json, "text", reasoning.Text);
                        WriteIfPresent(json, "signature", reasoning.Signature);
                        WriteIfPresent(json, "redactedContent", reasoning.RedactedContent);
                    }
                    else if (reasoning.RedactedContent is { } redacted)
                    {
                        json.WriteString("redactedContent", redacted);
                    }
                    else
                    {
                        json.WriteStartObject("reasoningText");
                        json.WriteString("text", reasoning.Text);
                        WriteIfPresent(json, "signature", reasoning.Signature);
                        json.WriteEndObject();
                    }

                    json.WriteEndObject();
                    break;
                case ToolResultBlock r:
                    json.WriteStartObject("toolResult");
                    json.WriteString("toolUseId", r.ToolUseId);
                    if (dialect == ContentDialect.Stored)
                    {
                        json.WriteString("content", r.Content);
                    }
                    else
                    {
                        json.WriteStartArray("content");
                        json.WriteStartObject();
                        if (JsonText.IsObject(r.Content))
                        {
                            json.WritePropertyName("json");
                            json.WriteRawValue(r.Content, skipInputValidation: true);
                        }
                        else
                        {
                            json.WriteString("text", r.Content);
                        }

                        json.WriteEndObject();
                        json.WriteEndArray();
                    }

                    json.WriteString("status", r.Status == ToolResultStatus.Success ? "success" : "error");
                    json.WriteEndObject();
                    break;
            }

            json.WriteEndObject();
        }

        if (closeArray)
        {
            json.WriteEndArray();
        }
    }

    /// <summary>Reads content written by <see cref="Write(IReadOnlyList{ContentBlock})"/>.</summary>
    /// <exception cref="FormatException">Not such an array; the message says what is wrong.</exception>
    public static List<ContentBlock> Read(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return Read(document.RootElement);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not valid JSON ({ex.Message})", ex);
        }
    }

    /// <inheritdoc cref="Read(string)"/>
    public static List<ContentBlock> Read(JsonElement array)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("not a JSON array");
        }

        var blocks = new List<ContentBlock>();
        foreach (var element in array.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("a content block is not an object");
            }

            if (element.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                blocks.Add(new TextBlock(text.GetString()!));
            }
            else if (element.TryGetProperty("toolUse", out var use))
            {
                blocks.Add(new ToolUseBlock(Required(use, "toolUseId"), Required(use, "name"), Required(use, "input")));
            }
            else if (element.TryGetProperty("reasoningContent", out var reasoning) && reasoning.ValueKind == JsonValueKind.Object)
            {
                blocks.Add(new ReasoningBlock(Optional(reasoning, "text"), Optional(reasoning, "signature"), Optional(reasoning, "redactedContent")));
            }
            else if (element.TryGetProperty("toolResult", out var result))
            {
                var status = Required(result, "status") == "success" ? ToolResultStatus.Success : ToolResultStatus.Error;
                blocks.Add(new ToolResultBlock(Required(result, "toolUseId"), Required(result, "content"), status));
            }
            else
            {
                throw new FormatException("a block is neither text, toolUse, toolResult nor reasoningContent");
            }
        }

        return blocks;
    }

    private static void WriteIfPresent(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static string? Optional(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Required(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new FormatException($"a content block lacks the string '{name}'");
}
