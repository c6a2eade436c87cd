using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;
using VoiceAgent.Application.Persistence;

namespace VoiceAgent.Infrastructure.Llm.Bedrock;

/// <summary>Writes the ConverseStream request body (Bedrock Converse API shape) with a Utf8JsonWriter.</summary>
internal static class ConverseRequestWriter
{
    /// <summary>
    /// Each tool's <c>{"toolSpec":…}</c> in UTF-8, written (and its schema validated) once per spec: the specs live
    /// as long as their handlers, and every turn of every call offers the same ones.
    /// </summary>
    private static readonly ConditionalWeakTable<ToolSpec, byte[]> ToolSpecs = new();

    public static byte[] Write(ModelRequest request, BedrockOptions options)
    {
        // Sized for the whole body at once: a buffer grown by doubling copied each turn's history several times.
        var buffer = new ArrayBufferWriter<byte>(EstimateSize(request));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            WriteMessages(json, request.Messages);

            json.WriteStartArray("system");
            json.WriteStartObject();
            json.WriteString("text", request.SystemPrompt);
            json.WriteEndObject();
            json.WriteEndArray();

            if (request.Tools.Count > 0)
            {
                WriteToolConfig(json, request);
            }

            json.WriteStartObject("inferenceConfig");
            json.WriteNumber("maxTokens", request.Settings.MaxTokens);
            if (request.Settings.Temperature is { } temperature)
            {
                json.WriteNumber("temperature", temperature);
            }

            if (request.Settings.TopP is { } topP)
            {
                json.WriteNumber("topP", topP);
            }

            json.WriteEndObject();

            if (!string.IsNullOrWhiteSpace(options.AdditionalModelRequestFields))
            {
                json.WritePropertyName("additionalModelRequestFields");
                using var extra = JsonDocument.Parse(options.AdditionalModelRequestFields);
                extra.RootElement.WriteTo(json);
            }

            if (!string.IsNullOrWhiteSpace(options.GuardrailIdentifier))
            {
                json.WriteStartObject("guardrailConfig");
                json.WriteString("guardrailIdentifier", options.GuardrailIdentifier);
                json.WriteString("guardrailVersion", options.GuardrailVersion ?? "DRAFT");
                json.WriteString("streamProcessingMode", options.EffectiveGuardrailStreamProcessingMode);
                json.WriteEndObject();
            }

            if (options.LatencyOptimized)
            {
                json.WriteStartObject("performanceConfig");
                json.WriteString("latency", "optimized");
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteMessages(Utf8JsonWriter json, IReadOnlyList<ConversationMessage> messages)
    {
        json.WriteStartArray("messages");
        foreach (var message in messages)
        {
            json.WriteStartObject();
            json.WriteString("role", message.Role == ConversationRole.User ? "user" : "assistant");
            json.WritePropertyName("content");
            ContentJson.Write(json, message.Content, ContentDialect.Converse);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static byte[] Encode(ToolSpec tool)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + tool.Description.Length + tool.InputSchemaJson.Length);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("toolSpec");
            json.WriteString("name", tool.Name);
            json.WriteString("description", tool.Description);
            json.WriteStartObject("inputSchema");
            json.WritePropertyName("json");
            json.WriteRawValue(tool.InputSchemaJson);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A constant-time guess from the prompt, the message count and the tools (walking every block of the history
    /// to measure it cost more than the copies it saved); the writer grows if the guess is short.
    /// </summary>
    private static int EstimateSize(ModelRequest request)
    {
        var bytes = 1024 + request.SystemPrompt.Length + (request.SystemPrompt.Length >> 3) + (160 * request.Messages.Count);
        foreach (var tool in request.Tools)
        {
            bytes += 128 + tool.Description.Length + tool.InputSchemaJson.Length;
        }

        return bytes;
    }

    private static void WriteToolConfig(Utf8JsonWriter json, ModelRequest request)
    {
        json.WriteStartObject("toolConfig");
        json.WriteStartArray("tools");
        foreach (var tool in request.Tools)
        {
            json.WriteRawValue(ToolSpecs.GetValue(tool, Encode), skipInputValidation: true);
        }

        json.WriteEndArray();
        json.WriteStartObject("toolChoice");
        switch (request.Settings.ToolChoice)
        {
            case null or "" or "auto":
                json.WriteStartObject("auto");
                json.WriteEndObject();
                break;
            case "any":
                json.WriteStartObject("any");
                json.WriteEndObject();
                break;
            case var name:
                json.WriteStartObject("tool");
                json.WriteString("name", name);
                json.WriteEndObject();
                break;
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }
}
