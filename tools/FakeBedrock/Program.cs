using System.Globalization;
using System.Text.Json;

// A Bedrock runtime stand-in for benchmarks on loopback: POST /model/{modelId}/converse-stream answers every
// SigV4-signed request with the same text answer as an AWS event stream, optionally paced like a real model.
//   dotnet tools/FakeBedrock/bin/Release/net10.0/VoiceAgent.FakeBedrock.dll --url http://127.0.0.1:5402
//     [--tokens 12] [--first-token-ms 0] [--token-ms 0]
//   ... --scenarios src/Modules/Pizza/evals,src/Modules/Leasing/evals: a scripted model instead, answering each caller
//     line with the model rounds its eval scenario scripts (see ScenarioModel), for `simulator eval` without a model
// Any client of the ConverseStream API can point at it (our service: Bedrock:Endpoint; the AWS SDKs:
// AWS_ENDPOINT_URL_BEDROCK_RUNTIME). GET /_fake/stats reports the requests served. GET /_fake/credentials serves
// credentials as the ECS/Fargate container endpoint does, so a client resolves them as on Fargate
// (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:5402/_fake/credentials).
namespace VoiceAgent.FakeBedrock;

internal static class Entry
{
    private static readonly string[] Words = ["Sure, ", "a ", "large ", "pepperoni ", "will ", "be ", "ready ", "in ", "about ", "twenty ", "minutes. ", "Anything ", "else? "];

    public static async Task Main(string[] args)
    {
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        double Millis(string name) => double.Parse(Value(name) ?? "0", CultureInfo.InvariantCulture);

        var url = Value("--url") ?? "http://127.0.0.1:5402";
        if (Value("--scenarios") is { } scenarios)
        {
            var model = ScenarioModel.Load(scenarios.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            await using var scripted = await ScriptedServer.StartAsync(url, model, CancellationToken.None);
            Console.WriteLine($"scripted Bedrock on {url} ({model.Turns} scripted caller turns); Ctrl+C or SIGTERM stops it");
            await scripted.WaitForShutdownAsync();
            return;
        }

        var tokens = int.Parse(Value("--tokens") ?? "12", CultureInfo.InvariantCulture);
        var firstToken = TimeSpan.FromMilliseconds(Millis("--first-token-ms"));
        var between = TimeSpan.FromMilliseconds(Millis("--token-ms"));

        var start = EventFrames.Event("messageStart", "{\"p\":\"abcd\",\"role\":\"assistant\"}");
        var deltas = Enumerable.Range(0, tokens)
            .Select(i => EventFrames.Event("contentBlockDelta", JsonSerializer.Serialize(new { contentBlockIndex = 0, delta = new { text = Words[i % Words.Length] }, p = "abcd" })))
            .ToArray();
        var end = EventFrames.Concat(
            EventFrames.Event("contentBlockStop", "{\"contentBlockIndex\":0,\"p\":\"abcd\"}"),
            EventFrames.Event("messageStop", "{\"p\":\"abcd\",\"stopReason\":\"end_turn\"}"),
            EventFrames.Event("metadata", $"{{\"metrics\":{{\"latencyMs\":{(int)firstToken.TotalMilliseconds}}},\"p\":\"abcd\",\"usage\":{{\"inputTokens\":420,\"outputTokens\":{tokens},\"totalTokens\":{420 + tokens}}}}}"));
        // Unpaced, the whole answer is one write, as a fast model's first packet carries several events.
        var whole = EventFrames.Concat([start, .. deltas, end]);
        long served = 0;

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/_fake/stats", () => Results.Text($"{{\"served\":{Interlocked.Read(ref served)}}}", "application/json"));
        app.MapGet("/_fake/credentials", () => Results.Json(new
        {
            AccessKeyId = "ASIAFAKEBEDROCKBENCH",
            SecretAccessKey = "fake-secret-access-key",
            Token = "fake-session-token",
            Expiration = DateTime.UtcNow.AddHours(6).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            RoleArn = "arn:aws:iam::000000000000:role/bench",
        }, new JsonSerializerOptions()));
        app.MapPost("/model/{modelId}/converse-stream", async (HttpContext context, string modelId) =>
        {
            // Read the request as Bedrock would; a request without a SigV4 Authorization header is refused.
            var buffer = new byte[16 * 1024];
            while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted) > 0)
            {
            }

            if (!context.Request.Headers.Authorization.ToString().StartsWith("AWS4-HMAC-SHA256 Credential=", StringComparison.Ordinal))
            {
                context.Response.StatusCode = 403;
                context.Response.Headers["x-amzn-ErrorType"] = "UnrecognizedClientException";
                await context.Response.WriteAsync("{\"message\":\"Missing SigV4 signature.\"}");
                return;
            }

            Interlocked.Increment(ref served);
            context.Response.ContentType = "application/vnd.amazon.eventstream";
            context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
            var body = context.Response.Body;
            var aborted = context.RequestAborted;
            if (firstToken == TimeSpan.Zero && between == TimeSpan.Zero)
            {
                await body.WriteAsync(whole, aborted);
                return;
            }

            await body.WriteAsync(start, aborted);
            await body.FlushAsync(aborted);
            await Task.Delay(firstToken, aborted);
            foreach (var delta in deltas)
            {
                await body.WriteAsync(delta, aborted);
                await body.FlushAsync(aborted);
                if (between > TimeSpan.Zero)
                {
                    await Task.Delay(between, aborted);
                }
            }

            await body.WriteAsync(end, aborted);
        });
        Console.WriteLine($"fake Bedrock on {url} ({tokens} tokens, first after {firstToken.TotalMilliseconds} ms, then every {between.TotalMilliseconds} ms); Ctrl+C or SIGTERM stops it");
        await app.RunAsync();
    }
}
