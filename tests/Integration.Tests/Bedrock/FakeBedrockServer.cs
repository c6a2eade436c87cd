using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

using VoiceAgent.FakeBedrock;

namespace VoiceAgent.Integration.Tests.Bedrock;

/// <summary>
/// A Bedrock runtime stand-in on 127.0.0.1 (real Kestrel): checks the SigV4 Authorization header's shape and the
/// payload hash, records every request, and serves whatever each model id's script says.
/// </summary>
public sealed partial class FakeBedrockServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<HttpContext, Task>> _scripts = new(StringComparer.Ordinal);

    private FakeBedrockServer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Model ids whose request the client aborted (cancellation reached the server).</summary>
    public ConcurrentQueue<string> Aborted { get; } = new();

    public static async Task<FakeBedrockServer> StartAsync()
    {
        var app = LoopbackApp.Create();
        var server = new FakeBedrockServer(app);
        app.MapPost("/model/{modelId}/converse-stream", server.HandleAsync);
        server.BaseAddress = await LoopbackApp.StartAsync(app);
        return server;
    }

    public void On(string modelId, Func<HttpContext, Task> script) => _scripts[modelId] = script;

    public int CountFor(string modelId) => Requests.Count(r => r.ModelId == modelId);

    private async Task HandleAsync(HttpContext context, string modelId)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var authorization = context.Request.Headers.Authorization.ToString();
        var rawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
        Requests.Enqueue(new RecordedRequest(modelId, rawTarget, body, authorization));
        context.RequestAborted.Register(() => Aborted.Enqueue(modelId));

        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        if (!SigV4().IsMatch(authorization)
            || string.IsNullOrEmpty(context.Request.Headers["X-Amz-Date"])
            || !string.Equals(context.Request.Headers["X-Amz-Content-SHA256"], bodyHash, StringComparison.Ordinal))
        {
            await ErrorAsync(context, 403, "AccessDeniedException", "The request signature we calculated does not match.");
            return;
        }

        if (!_scripts.TryGetValue(modelId, out var script))
        {
            await ErrorAsync(context, 404, "ResourceNotFoundException", $"Model {modelId} not found.");
            return;
        }

        try
        {
            await script(context);
        }
        catch (OperationCanceledException)
        {
            // The client went away: the abort was recorded above.
        }
    }

    public static async Task ErrorAsync(HttpContext context, int status, string errorType, string message)
    {
        context.Response.StatusCode = status;
        context.Response.Headers["x-amzn-ErrorType"] = errorType + ":http://internal.amazon.com/coral/com.amazon.bedrock/";
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { message }));
    }

    /// <summary>Writes an event-stream body in chunks of <paramref name="chunkSize"/> bytes, flushing each.</summary>
    public static async Task StreamAsync(HttpContext context, byte[] body, int chunkSize = int.MaxValue, TimeSpan? pauseBetweenChunks = null)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.ContentType = "application/vnd.amazon.eventstream";
        }

        for (var offset = 0; offset < body.Length; offset += chunkSize)
        {
            var count = Math.Min(chunkSize, body.Length - offset);
            await context.Response.Body.WriteAsync(body.AsMemory(offset, count), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            if (pauseBetweenChunks is { } pause)
            {
                await Task.Delay(pause, context.RequestAborted);
            }
        }
    }

    public static byte[] Golden(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", name));

    /// <summary>An event frame encoded by the AWS SDK's own event-stream codec (prelude and message CRCs).</summary>
    public static byte[] Event(string eventType, string json) => EventFrames.Event(eventType, json);

    public static byte[] Exception(string exceptionType, string message) =>
        EventFrames.Exception(exceptionType, JsonSerializer.Serialize(new { message }));

    /// <summary>A complete text answer as frames: messageStart, one delta per token, stop, metadata.</summary>
    public static byte[] TextAnswer(params string[] tokens)
    {
        var frames = new List<byte[]> { Event("messageStart", "{\"role\":\"assistant\"}") };
        frames.AddRange(tokens.Select(t => Event("contentBlockDelta", JsonSerializer.Serialize(new { contentBlockIndex = 0, delta = new { text = t } }))));
        frames.Add(Event("contentBlockStop", "{\"contentBlockIndex\":0}"));
        frames.Add(Event("messageStop", "{\"stopReason\":\"end_turn\"}"));
        frames.Add(Event("metadata", "{\"usage\":{\"inputTokens\":10,\"outputTokens\":3,\"totalTokens\":13},\"metrics\":{\"latencyMs\":5}}"));
        return frames.SelectMany(f => f).ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [GeneratedRegex("^AWS4-HMAC-SHA256 Credential=[A-Z0-9]{16,128}/[0-9]{8}/[a-z0-9-]+/bedrock/aws4_request, SignedHeaders=([a-z0-9-]+;)*host(;[a-z0-9-]+)*, Signature=[0-9a-f]{64}$")]
    private static partial Regex SigV4();

    public sealed record RecordedRequest(string ModelId, string Path, string Body, string Authorization);
}
