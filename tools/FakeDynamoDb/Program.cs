using System.Globalization;

// A DynamoDB-compatible server in memory, for benchmarks and fault runs on loopback: the operations and expressions
// VoiceAgent uses, DynamoDB's item and key size limits, and a configurable latency per request.
//   dotnet run --project tools/FakeDynamoDb -- --url http://127.0.0.1:8000 [--latency-ms 8]
// GET /_fake/items?table=T lists every item (one JSON object a line), for checking what was stored.
namespace VoiceAgent.FakeDynamoDb;

internal static class Entry
{
    public static async Task Main(string[] args)
    {
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        var url = new Uri(Value("--url") ?? "http://127.0.0.1:8000");
        var latency = TimeSpan.FromMilliseconds(double.Parse(Value("--latency-ms") ?? "0", CultureInfo.InvariantCulture));
        await using var server = await FakeDynamoDbServer.StartAsync(url, latency);
        Console.WriteLine($"fake DynamoDB on {server.Url} (latency {latency.TotalMilliseconds} ms per request); Ctrl+C or SIGTERM stops it");
        // The host's own console lifetime turns SIGTERM and Ctrl+C into a stop.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(server.Stopping);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }
}
