using System.Net.WebSockets;
using System.Text.Json;

namespace VoiceAgent.Simulator;

/// <summary>
/// Twilio's side of one ConversationRelay session, over the public wire protocol only: the signed incoming-call
/// webhook, then the WebSocket at the relay URL its TwiML names (the call's ticket), the upgrade signed over it.
/// </summary>
internal sealed class RelayConnection : IAsyncDisposable
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    private readonly ClientWebSocket _socket = new();
    private readonly byte[] _buffer = new byte[64 * 1024];

    public string CallSid { get; } = "CA" + Guid.NewGuid().ToString("N");

    /// <summary>The number this call comes from (the webhook's From).</summary>
    public string From { get; private set; } = "+15550001234";

    /// <summary>The number this call dialled (the webhook's To).</summary>
    public string To { get; private set; } = "+15550009999";

    /// <summary>Where Twilio reports the session's end: the action URL of the TwiML's &lt;Connect&gt;, when it has one.</summary>
    public string? ActionUrl { get; private set; }

    public WebSocketState State => _socket.State;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>The HTTP status the upgrade was answered with (101 when it was accepted).</summary>
    public int UpgradeStatus => (int)_socket.HttpStatusCode;

    public Task SendRawAsync(string text, CancellationToken cancellationToken) =>
        _socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    public Task SendBinaryAsync(byte[] bytes, CancellationToken cancellationToken) =>
        _socket.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);

    /// <summary>
    /// Places the call as Twilio does: POST /twiml (signed over <paramref name="publicBase"/>/twiml with an auth
    /// token), then opens the relay WebSocket the TwiML names — at <paramref name="service"/>'s address, signed over
    /// the public relay URL exactly as written in the TwiML.
    /// </summary>
    /// <param name="service">Where the service listens (http(s):// or ws(s)://; a trailing /ws is ignored).</param>
    /// <param name="authToken">Twilio's auth token, to sign like Twilio; null sends no signatures.</param>
    /// <param name="publicBase">The service's Twilio:PublicBaseUrl; the service address when null.</param>
    /// <param name="from">The caller's number.</param>
    /// <param name="to">The dialled number.</param>
    /// <param name="cancellationToken">Ends the attempt.</param>
    public async Task ConnectAsync(Uri service, string? authToken, Uri? publicBase, string from, string to, CancellationToken cancellationToken)
    {
        From = from;
        To = to;
        var http = HttpBase(service);
        RelayUrl = await AnswerAsync(http, authToken, publicBase ?? http, from, to, cancellationToken).ConfigureAwait(false);
        await OpenAsync(service, RelayUrl, authToken is null ? null : TwilioSigning.Sign(authToken, RelayUrl, []), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The relay URL the webhook's TwiML named for this call (its ticket included).</summary>
    public string? RelayUrl { get; private set; }

    /// <summary>
    /// Opens the WebSocket for <paramref name="relayUrl"/> (a public URL from TwiML) at the service's address, with
    /// <paramref name="signature"/> as X-Twilio-Signature — a captured one, for replay runs.
    /// </summary>
    public async Task OpenAsync(Uri service, string relayUrl, string? signature, CancellationToken cancellationToken)
    {
        var http = HttpBase(service);
        var relay = new Uri(relayUrl);
        if (signature is not null)
        {
            _socket.Options.SetRequestHeader("X-Twilio-Signature", signature);
        }

        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        _socket.Options.CollectHttpResponseDetails = true;
        var socketUrl = new UriBuilder(http) { Scheme = http.Scheme == Uri.UriSchemeHttps ? "wss" : "ws", Path = relay.AbsolutePath, Query = relay.Query.TrimStart('?') }.Uri;
        await _socket.ConnectAsync(socketUrl, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The service's http(s) base address from a --url that may be ws(s):// and may end in /ws.</summary>
    public static Uri HttpBase(Uri url)
    {
        var scheme = url.Scheme switch
        {
            "ws" => Uri.UriSchemeHttp,
            "wss" => Uri.UriSchemeHttps,
            var other => other,
        };
        var path = url.AbsolutePath.EndsWith("/ws", StringComparison.Ordinal) ? url.AbsolutePath[..^3] : url.AbsolutePath;
        return new UriBuilder(url) { Scheme = scheme, Path = path.TrimEnd('/'), Query = string.Empty, Port = url.Port }.Uri;
    }

    /// <summary>The incoming-call webhook: returns the relay URL of the TwiML answer.</summary>
    public async Task<string> AnswerAsync(Uri http, string? authToken, Uri publicBase, string from, string to, CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = "AC" + new string('0', 32),
            ["CallSid"] = CallSid,
            ["From"] = from,
            ["To"] = to,
            ["CallStatus"] = "ringing",
            ["Direction"] = "inbound",
        };
        using var response = await PostSignedAsync(new Uri(http.ToString().TrimEnd('/') + "/twiml"), publicBase.ToString().TrimEnd('/') + "/twiml", authToken, form, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"/twiml answered {(int)response.StatusCode}", null, response.StatusCode);
        }

        var connect = System.Xml.Linq.XDocument.Parse(body).Root?.Element("Connect");
        ActionUrl = connect?.Attribute("action")?.Value;
        return connect?.Element("ConversationRelay")?.Attribute("url")?.Value
            ?? throw new InvalidOperationException("The /twiml answer has no <Connect><ConversationRelay url>.");
    }

    /// <summary>
    /// Twilio's request to the &lt;Connect action&gt; URL once the session is over (<paramref name="status"/>
    /// completed, ended or failed), at the service's address and signed over the public URL. No-op without an action URL.
    /// </summary>
    public async Task ReportSessionEndAsync(Uri service, string? authToken, string status, string? handoffData, int seconds, CancellationToken cancellationToken)
    {
        if (ActionUrl is not { } action)
        {
            return;
        }

        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = "AC" + new string('0', 32),
            ["CallSid"] = CallSid,
            ["SessionId"] = "VX" + CallSid[2..],
            ["SessionStatus"] = status,
            ["SessionDuration"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["From"] = From,
            ["To"] = To,
        };
        if (handoffData is not null)
        {
            form["HandoffData"] = handoffData;
        }

        using var response = await PostSignedAsync(new Uri(HttpBase(service), new Uri(action).PathAndQuery), action, authToken, form, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A form posted as Twilio posts its webhooks: signed over <paramref name="signedUrl"/> when there is an auth token.</summary>
    private static async Task<HttpResponseMessage> PostSignedAsync(Uri target, string signedUrl, string? authToken, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new FormUrlEncodedContent(form) };
        if (!string.IsNullOrEmpty(authToken))
        {
            request.Headers.Add("X-Twilio-Signature", TwilioSigning.Sign(authToken, signedUrl, form));
        }

        return await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The relay's setup frame for this call; <paramref name="callSid"/> may name another call (attack runs).</summary>
    public Task SetupAsync(CancellationToken cancellationToken, string? callSid = null) => SendAsync(new Dictionary<string, object>
    {
        ["type"] = "setup",
        ["sessionId"] = "VX" + Guid.NewGuid().ToString("N"),
        ["callSid"] = callSid ?? CallSid,
        ["from"] = From,
        ["to"] = To,
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
    public static byte[] PromptBytes(string text, bool last = true) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["type"] = "prompt", ["voicePrompt"] = text, ["lang"] = "en-US", ["last"] = last });

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
