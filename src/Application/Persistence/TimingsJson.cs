using System.Buffers;
using System.Text;
using System.Text.Json;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Persistence;

/// <summary>
/// A turn's timings as stored (the turn item's <c>timings</c> attribute, dead letters): a JSON object with the
/// stages in milliseconds, absent stages left out.
/// </summary>
public static class TimingsJson
{
    public static void Write(Utf8JsonWriter json, TurnTimings timings)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        Number(json, "modelRequestMs", timings.ModelRequestMs);
        Number(json, "firstModelTokenMs", timings.FirstModelTokenMs);
        Number(json, "firstTextMs", timings.FirstTextMs);
        Number(json, "lastTextMs", timings.LastTextMs);
        Number(json, "interruptedMs", timings.InterruptedMs);
        json.WriteNumber("toolMs", timings.ToolMs);
        json.WriteNumber("toolCalls", timings.ToolCalls);
        json.WriteNumber("modelRounds", timings.ModelRounds);
        if (timings.Profile is { } profile)
        {
            json.WriteString("profile", profile);
        }

        json.WriteNumber("fallbacks", timings.Fallbacks);
        if (timings.RelayEvents.Count > 0)
        {
            json.WriteStartArray("relayEvents");
            foreach (var relayEvent in timings.RelayEvents)
            {
                json.WriteStringValue(relayEvent);
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    public static string ToJson(TurnTimings timings)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            Write(json, timings);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <exception cref="JsonException">Not a timings object.</exception>
    /// <exception cref="InvalidOperationException">A field of the wrong kind.</exception>
    public static TurnTimings Read(JsonElement element) => new()
    {
        ModelRequestMs = Number(element, "modelRequestMs"),
        FirstModelTokenMs = Number(element, "firstModelTokenMs"),
        FirstTextMs = Number(element, "firstTextMs"),
        LastTextMs = Number(element, "lastTextMs"),
        InterruptedMs = Number(element, "interruptedMs"),
        ToolMs = Number(element, "toolMs") ?? 0,
        ToolCalls = Number(element, "toolCalls") ?? 0,
        ModelRounds = Number(element, "modelRounds") ?? 0,
        Profile = element.TryGetProperty("profile", out var profile) ? profile.GetString() : null,
        Fallbacks = Number(element, "fallbacks") ?? 0,
        RelayEvents = element.TryGetProperty("relayEvents", out var events) ? [.. events.EnumerateArray().Select(e => e.GetString() ?? string.Empty)] : [],
    };

    public static TurnTimings FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Read(document.RootElement);
    }

    private static void Number(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
    }

    private static int? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetInt32() : null;
}
