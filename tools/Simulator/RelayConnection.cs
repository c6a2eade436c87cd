using System.Net.WebSockets;
using System.Text.Json;
using VoiceAgent.Api.Twilio;

namespace VoiceAgent.Simulator;

/// <summary>Twilio's side of one ConversationRelay session.</summary>
internal sealed class RelayConnection : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly byte[] _buffer = new byte[64 * 1024];

    public string CallSid { get; } = "CA" + Guid.NewGuid().ToString("N");

    public WebSocketState State => _socket.State;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public Task SendRawAsync(string text, CancellationToken cancellationToken) =>
        _socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    public Task SendBinaryAsync(byte[] bytes, CancellationToken cancellationToken) =>
        _socket.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);

    /// <summary>Opens the socket; with an auth token the upgrade is signed over <paramref name="signedUrl"/> like Twilio does.</summary>
    public async Task ConnectAsync(Uri url, string? authToken, string? signedUrl, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(authToken))
        {
            _socket.Options.SetRequestHeader("X-Twilio-Signature", TwilioSignature.Compute(authToken, signedUrl ?? url.ToString(), []));
        }

        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await _socket.ConnectAsync(url, cancellationToken).ConfigureAwait(false);
    }

    public Task SetupAsync(string from, CancellationToken cancellationToken) => SendAsync(new Dictionary<string, object>
    {
        ["type"] = "setup",
        ["sessionId"] = "VX" + Guid.NewGuid().ToString("N"),
        ["callSid"] = CallSid,
        ["from"] = from,
        ["to"] = "+15550009999",
        ["direction"] = "inbound",
        ["callType"] = "PSTN",
        ["customParameters"] = new Dictionary<string, string>(),
    }, cancellationToken);

    public Task PromptAsync(string text, CancellationToken cancellationToken) =>
        SendAsync(new Dictionary<string, object> { ["type"] = "prompt", ["voicePrompt"] = text, ["lang"] = "en-US", ["last"] = true }, cancellationToken);

    public Task InterruptAsync(string heard, long durationMs, CancellationToken cancellationToken) =>
        SendAsync(new Dictionary<string, object> { ["type"] = "interrupt", ["utteranceUntilInterrupt"] = heard, ["durationUntilInterruptMs"] = durationMs }, cancellationToken);

    public Task DigitAsync(char digit, CancellationToken cancellationToken) =>
        SendAsync(new Dictionary<string, object> { ["type"] = "dtmf", ["digit"] = digit.ToString() }, cancellationToken);

    public Task SendAsync(Dictionary<string, object> message, CancellationToken cancellationToken) =>
        _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>
    /// Load mode's receive: the next frame's type, text length and end-of-answer flag, read without building a
    /// document, and when its last byte arrived — so the caller's own parsing and allocation stay out of the
    /// measured latency. Null when the server closed.
    /// </summary>
    public async ValueTask<FrameSummary?> ReceiveSummaryAsync(CancellationToken cancellationToken) =>
        await ReceiveMessageAsync(cancellationToken).ConfigureAwait(false) is var (length, at) && length >= 0
            ? FrameSummary.Read(_buffer.AsSpan(0, length), at)
            : null;

    /// <summary>Reads one whole message into the buffer: its length and when its last byte arrived; length -1 once closed.</summary>
    private async ValueTask<(int Length, long ArrivedAt)> ReceiveMessageAsync(CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            var result = await _socket.ReceiveAsync(_buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            var at = System.Diagnostics.Stopwatch.GetTimestamp();
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (-1, at);
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                return (length, at);
            }
        }
    }

    /// <summary>A prompt frame serialized once, for load mode to send again and again.</summary>
    public static byte[] PromptBytes(string text) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["type"] = "prompt", ["voicePrompt"] = text, ["lang"] = "en-US", ["last"] = true });

    public Task SendBytesAsync(byte[] frame, CancellationToken cancellationToken) =>
        _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>The next frame, or null when the server closed.</summary>
    public async Task<JsonElement?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var (length, _) = await ReceiveMessageAsync(cancellationToken).ConfigureAwait(false);
        if (length < 0)
        {
            return null;
        }

        using var document = JsonDocument.Parse(_buffer.AsMemory(0, length));
        return document.RootElement.Clone();
    }

    public static string Describe(JsonElement frame) => frame.GetProperty("type").GetString() switch
    {
        "text" => frame.GetProperty("token").GetString() ?? string.Empty,
        "end" => $"[end{(frame.TryGetProperty("handoffData", out var data) ? " " + data.GetString() : string.Empty)}]",
        var type => $"[{type}: {frame.GetRawText()}]",
    };

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // Already gone.
            }
        }

        _socket.Dispose();
    }

    public static bool IsLast(JsonElement frame) =>
        frame.GetProperty("type").GetString() == "text" && frame.TryGetProperty("last", out var last) && last.GetBoolean();

    public static string Text(JsonElement frame) =>
        frame.GetProperty("type").GetString() == "text" ? frame.GetProperty("token").GetString() ?? string.Empty : string.Empty;
}

/// <summary>What load mode needs of a frame: whether it is text, how many UTF-8 bytes of text it carries, whether it ends the answer.</summary>
internal readonly record struct FrameSummary(bool IsText, int TextLength, bool Last, long ReceivedAt)
{
    public static FrameSummary Read(ReadOnlySpan<byte> json, long receivedAt)
    {
        var reader = new Utf8JsonReader(json);
        bool isText = false, last = false;
        var textLength = 0;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
            {
                continue;
            }

            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                isText = reader.ValueTextEquals("text"u8);
            }
            else if (reader.ValueTextEquals("token"u8))
            {
                reader.Read();
                textLength = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
            }
            else if (reader.ValueTextEquals("last"u8))
            {
                reader.Read();
                last = reader.TokenType == JsonTokenType.True;
            }
            else
            {
                reader.Read();
                reader.TrySkip();
            }
        }

        return new FrameSummary(isText, isText ? textLength : 0, isText && last, receivedAt);
    }
}
