using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using VoiceAgent.Api;

namespace VoiceAgent.Integration.Tests;

/// <summary>
/// What the container needs from the repository and the app, checked without a Docker engine: the Dockerfile's
/// shape (multi-stage, linux/amd64, non-root, HEALTHCHECK, exec form) and every path it copies, and the probe its
/// HEALTHCHECK runs.
/// </summary>
public sealed partial class ContainerTests
{
    private static readonly string Root = Repository.Root;

    private static readonly string[] Lines = File.ReadAllLines(Path.Combine(Root, "Dockerfile"));

    [Fact]
    public void The_dockerfile_builds_in_one_stage_and_runs_as_a_non_root_user_in_a_runtime_only_stage()
    {
        var stages = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, stages.Length);
        Assert.All(stages, s => Assert.Contains("--platform=linux/amd64", s, StringComparison.Ordinal));
        Assert.Contains("mcr.microsoft.com/dotnet/sdk:", stages[0], StringComparison.Ordinal);
        Assert.Contains("mcr.microsoft.com/dotnet/aspnet:", stages[1], StringComparison.Ordinal);

        var runtime = Lines.SkipWhile(l => l != stages[1]).ToArray();
        var user = Assert.Single(runtime, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotMatch("^USER (root|0)(:|$)", user);
        Assert.Single(runtime, l => l.StartsWith("COPY --from=build ", StringComparison.Ordinal));
        Assert.DoesNotContain(runtime, l => l.StartsWith("RUN ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_healthcheck_and_entrypoint_are_exec_form_so_sigterm_reaches_the_app()
    {
        var text = string.Join('\n', Lines).Replace("\\\n", " ", StringComparison.Ordinal);
        Assert.Matches(@"HEALTHCHECK [^\n]*CMD \[""dotnet"", ""VoiceAgent.Api.dll"", ""healthcheck""\]", text);
        Assert.Equal("ENTRYPOINT [\"dotnet\", \"VoiceAgent.Api.dll\"]", Assert.Single(Lines, l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal)));
        Assert.Contains("ENV ASPNETCORE_URLS=http://+:8080", Lines);
    }

    [Fact]
    public void Every_path_the_build_stage_copies_exists()
    {
        var sources = Lines
            .Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.StartsWith("COPY --from", StringComparison.Ordinal))
            .SelectMany(l => l["COPY ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1))
            .ToArray();

        Assert.NotEmpty(sources);
        Assert.All(sources, s => Assert.True(File.Exists(Path.Combine(Root, s)) || Directory.Exists(Path.Combine(Root, s)), $"{s} is not in the repository"));

        // The publish step names the project the restore step restored.
        var publish = Assert.Single(Lines, l => l.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(Root, ProjectPath().Match(publish).Value)));
    }

    [Fact]
    public async Task The_healthcheck_probe_exits_0_only_when_live_answers_200()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var url = $"http://127.0.0.1:{port}/health/live";

        var healthy = AnswerOnceAsync(listener, "200 OK");
        Assert.Equal(0, await HealthProbe.RunAsync(["healthcheck", url]));
        await healthy;

        var unhealthy = AnswerOnceAsync(listener, "503 Service Unavailable");
        Assert.Equal(1, await HealthProbe.RunAsync(["healthcheck", url]));
        await unhealthy;

        listener.Stop();
        Assert.Equal(1, await HealthProbe.RunAsync(["healthcheck", url]));
    }

    private static async Task AnswerOnceAsync(TcpListener listener, string status)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var stream = client.GetStream();
        var buffer = new byte[4096];
        var read = 0;
        while (read < buffer.Length && !System.Text.Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read));
            if (n == 0)
            {
                return;
            }

            read += n;
        }

        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
    }

    [GeneratedRegex(@"src/\S+\.csproj")]
    private static partial Regex ProjectPath();
}
