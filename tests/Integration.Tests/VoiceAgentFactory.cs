using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Tests;

namespace VoiceAgent.Integration.Tests;

/// <summary>
/// The real host with signature checks on (a non-Development environment), the embedded store, and a
/// scripted model unless a test asks for the real OpenAI-compatible adapter.
/// </summary>
public sealed class VoiceAgentFactory : WebApplicationFactory<Program>
{
    public const string AuthToken = "integration-test-token";
    public const string PublicBaseUrl = "https://voice.example.com";

    private readonly Dictionary<string, string?> _settings = new()
    {
        ["Twilio:AuthToken"] = AuthToken,
        ["Twilio:PublicBaseUrl"] = PublicBaseUrl,
        ["Twilio:ValidateSignatures"] = "true",
        ["Relay:MaxFrameBytes"] = "4096",
        ["Relay:MaxConsecutiveBadFrames"] = "5",
        ["Llm:Endpoint"] = "http://127.0.0.1:9/v1",
        ["Llm:Model"] = "test-model",
        ["Llm:RequestTimeout"] = "00:00:05",
    };

    public VoiceAgentFactory()
        : this(realModel: false)
    {
    }

    internal VoiceAgentFactory(bool realModel, IDictionary<string, string?>? settings = null)
    {
        UseRealModel = realModel;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public ScriptedModel Model { get; } = new();

    public bool UseRealModel { get; }

    public string Environment { get; init; } = "Testing";

    /// <summary>AWS credentials for the app's AWS clients (the fake Bedrock, moto), instead of the default chain.</summary>
    public Amazon.Runtime.AWSCredentials? AwsCredentials { get; init; }

    /// <summary>Extra service replacements applied after the app's own registrations.</summary>
    public Action<IServiceCollection>? TestServices { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(Environment);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            if (!UseRealModel)
            {
                services.RemoveAll<ILanguageModel>();
                services.AddSingleton<ILanguageModel>(Model);
            }

            if (AwsCredentials is not null)
            {
                services.RemoveAll<Amazon.Runtime.AWSCredentials>();
                services.AddSingleton(AwsCredentials);
            }

            TestServices?.Invoke(services);
        });
    }

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>
    /// The host on a DynamoDB-compatible server (moto) at <paramref name="server"/>, in <paramref name="table"/>, created
    /// and seeded from the app's seed folder; <paramref name="settings"/> on top.
    /// </summary>
    public static async Task<VoiceAgentFactory> OnDynamoDbAsync(Uri server, string table, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Store:Provider"] = "DynamoDb",
            ["Store:DynamoDb:TableName"] = table,
            ["Store:DynamoDb:ServiceUrl"] = server.ToString(),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var factory = new VoiceAgentFactory(realModel: false, all) { AwsCredentials = Persistence.MotoServer.Credentials };
        await factory.Get<VoiceAgent.Infrastructure.Persistence.DynamoDb.DynamoDbSeeder>().SeedAsync(Path.Combine(AppContext.BaseDirectory, "seed"), CancellationToken.None);
        return factory;
    }

    /// <summary>Posts a form as Twilio does, signed for <paramref name="signedUrl"/> (the public URL by default).</summary>
    public async Task<HttpResponseMessage> PostSignedAsync(string path, IDictionary<string, string> form, string? signedUrl = null, bool sign = true)
    {
        using var client = CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        if (sign)
        {
            request.Headers.Add(TwilioRequestValidator.SignatureHeader, TwilioSignature.Compute(AuthToken, signedUrl ?? PublicBaseUrl + path, form));
        }

        return await client.SendAsync(request);
    }

    /// <summary>
    /// Starts a call as Twilio does: the signed incoming-call webhook, then the relay WebSocket at the URL its TwiML
    /// names (this call's relay ticket), the upgrade signed over that wss:// URL.
    /// </summary>
    public async Task<RelayClient> ConnectRelayAsync(bool sign = true, string callSid = RelayClient.CallSid, string from = "+15550001234", string to = "+15550009999") =>
        await ConnectToAsync(await AnswerAsync(callSid, from, to), sign, callSid);

    /// <summary>Posts the incoming-call webhook; returns the relay URL of the TwiML (it carries the call's ticket).</summary>
    public async Task<string> AnswerAsync(string callSid = RelayClient.CallSid, string from = "+15550001234", string to = "+15550009999")
    {
        using var response = await PostSignedAsync("/twiml", new Dictionary<string, string>
        {
            ["AccountSid"] = "AC0123456789abcdef0123456789abcdef",
            ["CallSid"] = callSid,
            ["From"] = from,
            ["To"] = to,
            ["CallStatus"] = "ringing",
            ["Direction"] = "inbound",
        });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"/twiml answered {(int)response.StatusCode}: {body}");
        }

        return RelayUrl(body);
    }

    /// <summary>The url of the ConversationRelay in a TwiML document.</summary>
    public static string RelayUrl(string twiml) =>
        System.Xml.Linq.XDocument.Parse(twiml).Root!.Element("Connect")!.Element("ConversationRelay")!.Attribute("url")!.Value;

    /// <summary>Opens the relay WebSocket at <paramref name="relayUrl"/> (public wss:// URL), signed over it as Twilio signs.</summary>
    public async Task<RelayClient> ConnectToAsync(string relayUrl, bool sign = true, string callSid = RelayClient.CallSid)
    {
        var client = Server.CreateWebSocketClient();
        if (sign)
        {
            var signature = TwilioSignature.Compute(AuthToken, relayUrl, []);
            client.ConfigureRequest = request => request.Headers[TwilioRequestValidator.SignatureHeader] = signature;
        }

        var url = new Uri(relayUrl);
        var socket = await client.ConnectAsync(new Uri(Server.BaseAddress, url.PathAndQuery), CancellationToken.None);
        return new RelayClient(socket, callSid);
    }

    /// <summary>The service's address on loopback when it runs on Kestrel (<c>UseKestrel(0)</c>, <c>StartServer()</c>).</summary>
    public Uri SocketAddress => new(Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
        .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());

    /// <summary>
    /// As <see cref="ConnectToAsync"/>, over a real socket to Kestrel (a <see cref="ClientWebSocket"/>, as Twilio's
    /// client would connect): signed over the public wss:// URL, sent to the loopback address.
    /// </summary>
    public async Task<RelayClient> ConnectOverSocketAsync(string relayUrl, string callSid = RelayClient.CallSid)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader(TwilioRequestValidator.SignatureHeader, TwilioSignature.Compute(AuthToken, relayUrl, []));
        await socket.ConnectAsync(new Uri($"ws://{SocketAddress.Authority}{new Uri(relayUrl).PathAndQuery}"), CancellationToken.None);
        return new RelayClient(socket, callSid);
    }
}

/// <summary>Twilio's side of ConversationRelay, for tests.</summary>
public sealed class RelayClient(WebSocket socket, string callSid = RelayClient.CallSid) : IAsyncDisposable
{
    public const string CallSid = "CA0123456789abcdef0123456789abcdef";

    public WebSocket Socket { get; } = socket;

    /// <summary>The call this connection was opened for (its setup names it unless told otherwise).</summary>
    public string Sid { get; } = callSid;

    public Task SendJsonAsync(object message) => SendTextAsync(JsonSerializer.Serialize(message));

    public Task SendTextAsync(string text) =>
        Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    public Task SetupAsync(string from = "+15550001234", string? callSid = null) => SendJsonAsync(new
    {
        type = "setup",
        sessionId = "VX0123456789abcdef0123456789abcdef",
        accountSid = "AC0123456789abcdef0123456789abcdef",
        callSid = callSid ?? Sid,
        from,
        to = "+15550009999",
        direction = "inbound",
        callType = "PSTN",
        callStatus = "RINGING",
        customParameters = new Dictionary<string, string> { ["useCaseId"] = "pizza" },
    });

    public Task PromptAsync(string text) => SendJsonAsync(new { type = "prompt", voicePrompt = text, lang = "en-US", last = true });

    /// <summary>The next frame as JSON, or null when the server closed the socket.</summary>
    public async Task<JsonElement?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var result = await Socket.ReceiveAsync(buffer.AsMemory(length), cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
                return document.RootElement.Clone();
            }
        }
    }

    /// <summary>Text frames up to and including the one with last=true.</summary>
    public async Task<List<JsonElement>> ReceiveAnswerAsync(TimeSpan? timeout = null)
    {
        var frames = new List<JsonElement>();
        while (true)
        {
            var frame = await ReceiveAsync(timeout) ?? throw new InvalidOperationException("The socket closed mid-answer.");
            frames.Add(frame);
            if (frame.GetProperty("type").GetString() == "text" && frame.GetProperty("last").GetBoolean())
            {
                return frames;
            }
        }
    }

    /// <summary>Frames up to and including the next <c>end</c> (as many as came, if the socket closed first).</summary>
    public async Task<List<JsonElement>> ReceiveUntilEndAsync()
    {
        var frames = new List<JsonElement>();
        while (await ReceiveAsync() is { } frame)
        {
            frames.Add(frame);
            if (frame.GetProperty("type").GetString() == "end")
            {
                break;
            }
        }

        return frames;
    }

    public static string Text(IEnumerable<JsonElement> frames) =>
        string.Concat(frames.Where(f => f.GetProperty("type").GetString() == "text").Select(f => f.GetProperty("token").GetString()));

    public async ValueTask DisposeAsync()
    {
        if (Socket.State == WebSocketState.Open)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // The server may already be gone.
            }
        }

        Socket.Dispose();
    }
}
