using System.Text.Json;
using System.Text.Json.Serialization;

namespace VoiceAgent.Api.Relay;

// Inbound: what Twilio ConversationRelay sends. Unknown properties are ignored (Twilio adds fields over time);
// required ones are enforced while deserialising.

internal sealed record SetupMessage
{
    [JsonRequired]
    public string CallSid { get; init; } = string.Empty;

    [JsonRequired]
    public string SessionId { get; init; } = string.Empty;

    public string? AccountSid { get; init; }

    public string? ParentCallSid { get; init; }

    public string? From { get; init; }

    public string? To { get; init; }

    public string? ForwardedFrom { get; init; }

    public string? CallerName { get; init; }

    public string? Direction { get; init; }

    public string? CallType { get; init; }

    public string? CallStatus { get; init; }

    public Dictionary<string, string>? CustomParameters { get; init; }
}

/// <summary>Read by <see cref="RelayFrame.ReadPrompt"/>, which decodes no more of the prompt than an utterance may hold.</summary>
internal sealed record PromptMessage
{
    public string VoicePrompt { get; init; } = string.Empty;

    public string? Lang { get; init; }

    /// <summary>False for partial prompts (partialPrompts="true"); absent means a whole utterance.</summary>
    public bool Last { get; init; } = true;
}

internal sealed record InterruptMessage
{
    public string? UtteranceUntilInterrupt { get; init; }

    public long? DurationUntilInterruptMs { get; init; }
}

internal sealed record DtmfMessage
{
    [JsonRequired]
    public string Digit { get; init; } = string.Empty;
}

internal sealed record ErrorMessage
{
    public string? Description { get; init; }
}

// Outbound: what we send. The type comes first, as in Twilio's examples.

internal sealed record TextFrame(
    [property: JsonPropertyOrder(1)] string Token,
    [property: JsonPropertyOrder(2)] bool Last,
    [property: JsonPropertyOrder(3)] string? Lang,
    [property: JsonPropertyOrder(4)] bool? Interruptible,
    [property: JsonPropertyOrder(5)] bool? Preemptible)
{
    [JsonPropertyOrder(0)]
    public string Type { get; } = "text";
}

internal sealed record PlayFrame(
    [property: JsonPropertyOrder(1)] string Source,
    [property: JsonPropertyOrder(2)] int? Loop,
    [property: JsonPropertyOrder(3)] bool? Preemptible,
    [property: JsonPropertyOrder(4)] bool? Interruptible)
{
    [JsonPropertyOrder(0)]
    public string Type { get; } = "play";
}

internal sealed record SendDigitsFrame([property: JsonPropertyOrder(1)] string Digits)
{
    [JsonPropertyOrder(0)]
    public string Type { get; } = "sendDigits";
}

internal sealed record LanguageFrame(
    [property: JsonPropertyOrder(1)] string? TtsLanguage,
    [property: JsonPropertyOrder(2)] string? TranscriptionLanguage)
{
    [JsonPropertyOrder(0)]
    public string Type { get; } = "language";
}

internal sealed record EndFrame([property: JsonPropertyOrder(1)] string? HandoffData)
{
    [JsonPropertyOrder(0)]
    public string Type { get; } = "end";
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(SetupMessage))]
[JsonSerializable(typeof(InterruptMessage))]
[JsonSerializable(typeof(DtmfMessage))]
[JsonSerializable(typeof(ErrorMessage))]
[JsonSerializable(typeof(TextFrame))]
[JsonSerializable(typeof(PlayFrame))]
[JsonSerializable(typeof(SendDigitsFrame))]
[JsonSerializable(typeof(LanguageFrame))]
[JsonSerializable(typeof(EndFrame))]
internal sealed partial class RelayJsonContext : JsonSerializerContext;

/// <summary>Reads the "type" of a relay frame without deserialising the rest.</summary>
internal static class RelayFrame
{
    private static ReadOnlySpan<byte> VoicePromptProperty => "voicePrompt"u8;

    private static ReadOnlySpan<byte> LastProperty => "last"u8;

    private static ReadOnlySpan<byte> LangProperty => "lang"u8;

    /// <summary>
    /// A prompt frame's fields, with <c>voicePrompt</c> decoded only up to <paramref name="maxChars"/> characters: a
    /// 45 KB partial prompt costs no 90 KB string (a large-object allocation per frame), just what an utterance may
    /// hold. Unknown properties are skipped.
    /// </summary>
    /// <exception cref="JsonException">Not a JSON object with a string voicePrompt.</exception>
    public static PromptMessage ReadPrompt(ReadOnlySpan<byte> utf8, int maxChars)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A prompt must be a JSON object.");
        }

        string? voicePrompt = null;
        string? lang = null;
        var last = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(VoicePromptProperty))
            {
                reader.Read();
                voicePrompt = reader.TokenType == JsonTokenType.String ? Bounded(ref reader, maxChars) : throw new JsonException("voicePrompt must be a string.");
            }
            else if (reader.ValueTextEquals(LastProperty))
            {
                reader.Read();
                last = reader.TokenType switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    _ => throw new JsonException("last must be true or false."),
                };
            }
            else if (reader.ValueTextEquals(LangProperty))
            {
                reader.Read();
                lang = reader.TokenType == JsonTokenType.String ? reader.GetString() : reader.TokenType == JsonTokenType.Null ? null : throw new JsonException("lang must be a string.");
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        while (reader.Read())
        {
        }

        return new PromptMessage { VoicePrompt = voicePrompt ?? throw new JsonException("The prompt has no voicePrompt."), Last = last, Lang = lang };
    }

    /// <summary>The string at the reader, at most <paramref name="maxChars"/> characters of it, never split mid-character.</summary>
    private static string Bounded(ref Utf8JsonReader reader, int maxChars)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            var whole = reader.GetString()!;
            return whole.Length <= maxChars ? whole : whole[..(char.IsHighSurrogate(whole[maxChars - 1]) ? maxChars - 1 : maxChars)];
        }

        var bytes = reader.ValueSpan;
        if (bytes.Length <= maxChars)
        {
            return System.Text.Encoding.UTF8.GetString(bytes);
        }

        // At most maxChars characters need at most 4 × maxChars bytes; decode those and keep maxChars of them.
        var take = Math.Min(bytes.Length, maxChars * 4);
        while (take < bytes.Length && take > 0 && (bytes[take] & 0xC0) == 0x80)
        {
            take--;
        }

        var text = System.Text.Encoding.UTF8.GetString(bytes[..take]);
        return text.Length <= maxChars ? text : text[..(char.IsHighSurrogate(text[maxChars - 1]) ? maxChars - 1 : maxChars)];
    }

    private static ReadOnlySpan<byte> TypeProperty => "type"u8;

    /// <summary>The top-level "type" string of a JSON object, or null when the frame is not such an object.</summary>
    /// <exception cref="JsonException">The frame is not valid JSON.</exception>
    public static string? ReadType(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        string? type = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isType = reader.ValueTextEquals(TypeProperty);
            reader.Read();
            if (isType && reader.TokenType == JsonTokenType.String)
            {
                type = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }

        // Read to the end so trailing garbage is reported as invalid JSON.
        while (reader.Read())
        {
        }

        return type;
    }
}
