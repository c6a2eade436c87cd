using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;
using VoiceAgent.Infrastructure.Buffers;
using VoiceAgent.Application.Persistence;

namespace VoiceAgent.Infrastructure.Llm.Bedrock;

/// <summary>
/// Writes the ConverseStream request body (Bedrock Converse API shape) with a Utf8JsonWriter. Static first, for prompt
/// caching: the use case's base system prompt, then the tools, each closed by a cache point when the request caches;
/// this call's part of the system prompt after them; a cache point after the last message, so the next turn reads
/// this turn's prefix from the cache. At most three of Bedrock's four cache points.
/// </summary>
internal static class ConverseRequestWriter
{
    /// <summary>Bedrock's request metadata: at most 16 pairs, keys and values of these characters, 256 at most.</summary>
    private const int MaxMetadataPairs = 16;
    private const int MaxMetadataLength = 256;

    /// <summary>
    /// Each tool's <c>{"toolSpec":…}</c> in UTF-8, written (and its schema validated) once per spec: the specs live
    /// as long as their handlers, and every turn of every call offers the same ones.
    /// </summary>
    private static readonly ConditionalWeakTable<ToolSpec, byte[]> ToolSpecs = new();

    /// <summary>The request body, in a pooled buffer the caller disposes once the request is done with it.</summary>
    public static PooledBufferWriter Write(ModelRequest request, BedrockOptions options, CachePoints cachePoints = CachePoints.None, string? environment = null)
    {
        // Sized for the whole body at once (a buffer grown by doubling copied each turn's history several times), and
        // rented: a turn's body is the size of its history, and allocating it each turn kept the GC busy.
        var buffer = new PooledBufferWriter(EstimateSize(request));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            WriteMessages(json, request.Messages, request.Encodings, (cachePoints & CachePoints.Messages) != 0);
            WriteSystem(json, request, (cachePoints & CachePoints.System) != 0);

            if (request.Tools.Count > 0)
            {
                WriteToolConfig(json, request, (cachePoints & CachePoints.Tools) != 0);
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

            if (request.Settings.StopSequences.Count > 0)
            {
                json.WriteStartArray("stopSequences");
                foreach (var sequence in request.Settings.StopSequences)
                {
                    json.WriteStringValue(sequence);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            WriteMetadata(json, request.Metadata, environment);

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

        return buffer;
    }

    private static void WriteMessages(Utf8JsonWriter json, IReadOnlyList<ConversationMessage> messages, MessageEncodings? encodings, bool cachePoint)
    {
        json.WriteStartArray("messages");
        // Every message but the one the moving cache point closes is the same as last turn's: with the call's store,
        // each is encoded once per call and copied as it is after that.
        var last = cachePoint ? messages.Count - 1 : messages.Count;
        var encoded = encodings is null || last <= 0 ? default : encodings.For(messages, last, EncodeMessage);
        for (var i = 0; i < messages.Count; i++)
        {
            if (i < encoded.Count)
            {
                json.WriteRawValue(encoded[i].Span, skipInputValidation: true);
            }
            else
            {
                WriteMessage(json, messages[i], cachePoint && i == messages.Count - 1);
            }
        }

        json.WriteEndArray();
    }

    private static readonly Action<ConversationMessage, IBufferWriter<byte>> EncodeMessage = static (message, into) =>
    {
        using var scratch = ScratchJson.Start();
        WriteMessage(scratch.Writer, message, cachePoint: false);
        var written = scratch.Written;
        written.CopyTo(into.GetSpan(written.Length));
        into.Advance(written.Length);
    };

    /// <summary>What <paramref name="write"/> writes of <paramref name="value"/>, as a UTF-8 array to keep (written in the thread's scratch buffer).</summary>
    private static byte[] Encoded<T>(T value, Action<Utf8JsonWriter, T> write)
    {
        using var scratch = ScratchJson.Start();
        write(scratch.Writer, value);
        return scratch.Written.ToArray();
    }

    private static void WriteMessage(Utf8JsonWriter json, ConversationMessage message, bool cachePoint)
    {
        json.WriteStartObject();
        json.WriteString("role", message.Role == ConversationRole.User ? "user" : "assistant");
        json.WritePropertyName("content");
        if (cachePoint)
        {
            // The moving cache point: the whole history up to this turn's prompt.
            ContentJson.Write(json, message.Content, ContentDialect.Converse, closeArray: false);
            WriteCachePoint(json);
            json.WriteEndArray();
        }
        else
        {
            ContentJson.Write(json, message.Content, ContentDialect.Converse);
        }

        json.WriteEndObject();
    }

    /// <summary>The base prompt, a cache point, then this call's part (caller, date), when there is one.</summary>
    private static void WriteSystem(Utf8JsonWriter json, ModelRequest request, bool cachePoint)
    {
        var prompt = request.SystemPrompt;
        var split = Math.Clamp(request.StaticPromptLength ?? prompt.Length, 0, prompt.Length);
        json.WritePropertyName("system");
        if (request.Encodings is { } encodings)
        {
            // The prompt (a few kilobytes, escaped) is the same every turn of a call: encoded once, copied after that.
            json.WriteRawValue(encodings.System(prompt, split, cachePoint, EncodeSystem), skipInputValidation: true);
        }
        else
        {
            WriteSystemArray(json, prompt, split, cachePoint);
        }
    }

    private static readonly Func<string, int, bool, byte[]> EncodeSystem = static (prompt, split, cachePoint) =>
        Encoded((Prompt: prompt, Split: split, CachePoint: cachePoint), static (json, system) =>
            WriteSystemArray(json, system.Prompt, system.Split, system.CachePoint));

    private static void WriteSystemArray(Utf8JsonWriter json, string whole, int split, bool cachePoint)
    {
        var prompt = whole.AsSpan();
        json.WriteStartArray();
        if (split > 0)
        {
            json.WriteStartObject();
            json.WriteString("text", prompt[..split]);
            json.WriteEndObject();
            if (cachePoint)
            {
                WriteCachePoint(json);
            }
        }

        if (split < prompt.Length && !prompt[split..].IsWhiteSpace())
        {
            json.WriteStartObject();
            json.WriteString("text", prompt[split..]);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteCachePoint(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartObject("cachePoint");
        json.WriteString("type", "default");
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>
    /// requestMetadata for Bedrock's invocation logs: the request's pairs and the environment, with characters
    /// Bedrock does not take replaced by '_' and values cut to its 256.
    /// </summary>
    private static void WriteMetadata(Utf8JsonWriter json, IReadOnlyDictionary<string, string>? metadata, string? environment)
    {
        if (metadata is not { Count: > 0 } && string.IsNullOrEmpty(environment))
        {
            return;
        }

        json.WriteStartObject("requestMetadata");
        var written = 0;
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            if (written++ == MaxMetadataPairs - 1)
            {
                break;
            }

            json.WriteString(MetadataText(key), MetadataText(value));
        }

        if (!string.IsNullOrEmpty(environment))
        {
            json.WriteString("environment", MetadataText(environment));
        }

        json.WriteEndObject();
    }

    private static string MetadataText(string text)
    {
        var clean = text.Length > MaxMetadataLength ? text[..MaxMetadataLength] : text;
        return clean.AsSpan().ContainsAnyExcept(MetadataCharacters)
            ? string.Create(clean.Length, clean, static (span, source) =>
            {
                for (var i = 0; i < source.Length; i++)
                {
                    span[i] = MetadataCharacters.Contains(source[i]) ? source[i] : '_';
                }
            })
            : clean;
    }

    private static readonly SearchValues<char> MetadataCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t._:/=+$@-");

    private static byte[] Encode(ToolSpec tool) => Encoded(tool, static (json, tool) =>
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
    });

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

    private static void WriteToolConfig(Utf8JsonWriter json, ModelRequest request, bool cachePoint)
    {
        json.WriteStartObject("toolConfig");
        json.WriteStartArray("tools");
        foreach (var tool in request.Tools)
        {
            json.WriteRawValue(ToolSpecs.GetValue(tool, Encode), skipInputValidation: true);
        }

        if (cachePoint)
        {
            WriteCachePoint(json);
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

/// <summary>Where a request marks its cacheable prefix.</summary>
[Flags]
internal enum CachePoints
{
    None = 0,
    System = 1,
    Tools = 2,
    Messages = 4,
}
