using System.Text.Json;

namespace VoiceAgent.Application.Common;

/// <summary>Small checks on JSON held as text.</summary>
public static class JsonText
{
    /// <summary>True when <paramref name="value"/> is a complete JSON object.</summary>
    public static bool IsObject(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.TrimStart()[0] != '{')
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(value);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
