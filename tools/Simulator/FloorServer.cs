using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace VoiceAgent.Simulator;

/// <summary>
/// The floor for load mode: a WebSocket server on the same host stack (Kestrel, the same runtime settings) that
/// does nothing but answer every prompt frame at once with one text frame of the same size as the service's
/// instant answer. Load mode against it measures what the loopback hop, the WebSocket framing and the
/// simulator itself cost; the service's numbers above the floor are what the application adds.
/// </summary>
internal static class FloorServer
{
    private static readonly byte[] Answer = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["type"] = "text",
        ["token"] = "Sure, a large pepperoni will be ready in about twenty minutes. Anything else? ",
        ["last"] = true,
    });

    public static async Task<int> RunAsync(Uri listen, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{listen.Host}:{listen.Port}");
        await using var app = builder.Build();
        app.UseWebSockets();

        // Calls are placed as against the service: the webhook first, whose TwiML names the relay URL.
        var twiml = $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect><ConversationRelay url=\"ws://{listen.Host}:{listen.Port}/ws\"/></Connect></Response>";
        app.MapPost("/twiml", () => Results.Content(twiml, "application/xml"));
        app.Map("/ws", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await AnswerAsync(socket, context.RequestAborted);
        });
        await app.StartAsync(ct);
        Console.WriteLine($"floor server listening on {listen.Host}:{listen.Port} (/ws); Ctrl+C or SIGTERM stops it");
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct, app.Lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, stopping.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        await app.StopAsync(CancellationToken.None);
        return 0;
    }

    private static async Task AnswerAsync(WebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close && length < buffer.Length);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct);
                    return;
                }

                if (IsPrompt(buffer.AsSpan(0, length)))
                {
                    await socket.SendAsync(Answer, WebSocketMessageType.Text, endOfMessage: true, ct);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The caller hung up.
        }
    }

    /// <summary>The frame's top-level "type" is "prompt" (read as Twilio's frames are defined: a JSON object).</summary>
    private static bool IsPrompt(ReadOnlySpan<byte> frame)
    {
        try
        {
            var reader = new Utf8JsonReader(frame);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                reader.Read();
                if (isType)
                {
                    return reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("prompt"u8);
                }

                reader.Skip();
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
