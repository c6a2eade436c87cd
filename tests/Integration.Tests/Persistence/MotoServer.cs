using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.DynamoDBv2;
using Amazon.Runtime;

namespace VoiceAgent.Integration.Tests.Persistence;

/// <summary>
/// A DynamoDB-compatible server on 127.0.0.1. Uses the one .ci/run started (VOICEAGENT_TEST_DYNAMODB_URL) or starts
/// <c>moto_server</c> itself on a free port and stops it by its process when disposed.
/// </summary>
public sealed class MotoServer : IAsyncLifetime, IAsyncDisposable
{
    public const string UrlVariable = "VOICEAGENT_TEST_DYNAMODB_URL";

    private Process? _process;

    public Uri Url { get; private set; } = null!;

    public int Port => Url.Port;

    public static BasicAWSCredentials Credentials { get; } = new("testing", "testing");

    /// <summary>A server of the test's own, which it may stop and start.</summary>
    public static async Task<MotoServer> StartOwnAsync(int? port = null)
    {
        var server = new MotoServer();
        await server.StartProcessAsync(port ?? FreePort());
        return server;
    }

    public async Task InitializeAsync()
    {
        var shared = Environment.GetEnvironmentVariable(UrlVariable);
        if (!string.IsNullOrWhiteSpace(shared))
        {
            Url = new Uri(shared);
            return;
        }

        await StartProcessAsync(FreePort());
    }

    public Task DisposeAsync()
    {
        Stop();
        return Task.CompletedTask;
    }

    ValueTask IAsyncDisposable.DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    public void Stop()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        _process = null;
    }

    public Task RestartAsync() => StartProcessAsync(Port);

    public AmazonDynamoDBClient CreateClient() => new(Credentials, new AmazonDynamoDBConfig
    {
        ServiceURL = Url.ToString(),
        AuthenticationRegion = "us-east-1",
        Timeout = TimeSpan.FromSeconds(5),
        MaxErrorRetry = 0,
    });

    private async Task StartProcessAsync(int port)
    {
        var start = new ProcessStartInfo("moto_server", ["-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("moto_server did not start (is it on PATH?).");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Url = new Uri($"http://127.0.0.1:{port}");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        for (var attempt = 0; attempt < 150; attempt++)
        {
            try
            {
                using var response = await http.GetAsync(Url);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not up yet.
            }
            catch (TaskCanceledException)
            {
                // Not up yet.
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"moto_server exited with code {_process.ExitCode} before answering on port {port}.");
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"moto_server did not answer on port {port} within 15 s.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
