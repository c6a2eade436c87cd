using System.Text.Json;

namespace VoiceAgent.Infrastructure.Aws;

/// <summary>
/// The JSON body of an AWS error answer (Bedrock's, DynamoDB's): <c>{"__type":"…#Code","message":"…"}</c>. A body that
/// is not JSON (a proxy's page) has neither.
/// </summary>
internal static class AwsErrorBody
{
    /// <summary>The error's message (<c>message</c> or <c>Message</c>), if the body has one.</summary>
    public static string? Message(string json) => Read(json, static root =>
        StringProperty(root, "message") ?? StringProperty(root, "Message"));

    /// <summary>The error's code: <c>__type</c> after its last '#', if the body has one.</summary>
    public static string? Type(string json) => Read(json, static root =>
        root.TryGetProperty("__type", out var type) ? type.GetString()?.Split('#')[^1] : null);

    private static string? StringProperty(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? Read(string json, Func<JsonElement, string?> read)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object ? read(document.RootElement) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
