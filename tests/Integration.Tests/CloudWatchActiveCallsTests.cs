using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using VoiceAgent.Api.Observability;
using VoiceAgent.Application.Calls;

namespace VoiceAgent.Integration.Tests;

public sealed class CloudWatchActiveCallsTests
{
    [Fact]
    public void A_line_is_an_embedded_metric_event_for_VoiceAgent_ActiveCalls_without_dimensions()
    {
        var at = new DateTimeOffset(2026, 11, 24, 18, 0, 0, TimeSpan.Zero);

        using var line = JsonDocument.Parse(CloudWatchActiveCalls.Line(at, 412));

        var root = line.RootElement;
        var aws = root.GetProperty("_aws");
        Assert.Equal(at.ToUnixTimeMilliseconds(), aws.GetProperty("Timestamp").GetInt64());
        var directive = Assert.Single(aws.GetProperty("CloudWatchMetrics").EnumerateArray());
        Assert.Equal("VoiceAgent", directive.GetProperty("Namespace").GetString());
        var dimensionSet = Assert.Single(directive.GetProperty("Dimensions").EnumerateArray());
        Assert.Empty(dimensionSet.EnumerateArray());
        var metric = Assert.Single(directive.GetProperty("Metrics").EnumerateArray());
        Assert.Equal("ActiveCalls", metric.GetProperty("Name").GetString());
        Assert.Equal("Count", metric.GetProperty("Unit").GetString());
        Assert.Equal(412, root.GetProperty("ActiveCalls").GetInt32());
    }

    [Fact]
    public async Task The_publisher_writes_the_live_call_count_at_start_and_on_every_interval()
    {
        var registry = Substitute.For<IActiveCallRegistry>();
        registry.Count.Returns(3, 5);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 18, 0, 0, TimeSpan.Zero));
        var output = new LineWriter();
        using var publisher = new CloudWatchActiveCalls(
            registry, Options.Create(new ObservabilityOptions { CloudWatchActiveCalls = true }), time, output);

        await publisher.StartAsync(CancellationToken.None);
        Assert.Equal(3, Value(await output.NextAsync()));
        time.Advance(new ObservabilityOptions().CloudWatchInterval);
        Assert.Equal(5, Value(await output.NextAsync()));
        await publisher.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_publisher_runs_only_when_switched_on()
    {
        await using var off = new VoiceAgentFactory();
        await using var on = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?> { ["Observability:CloudWatchActiveCalls"] = "true" });

        Assert.DoesNotContain(off.Services.GetServices<IHostedService>(), s => s is CloudWatchActiveCalls);
        Assert.Contains(on.Services.GetServices<IHostedService>(), s => s is CloudWatchActiveCalls);
    }

    private static int Value(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.GetProperty("ActiveCalls").GetInt32();
    }

    /// <summary>Hands each written line to the test as it comes.</summary>
    private sealed class LineWriter : StringWriter
    {
        private readonly System.Threading.Channels.Channel<string> _lines = System.Threading.Channels.Channel.CreateUnbounded<string>();

        public override Task WriteLineAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default)
        {
            _lines.Writer.TryWrite(buffer.ToString());
            return Task.CompletedTask;
        }

        public async Task<string> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await _lines.Reader.ReadAsync(timeout.Token);
        }
    }
}
