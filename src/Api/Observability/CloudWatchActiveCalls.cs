using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Calls;

namespace VoiceAgent.Api.Observability;

/// <summary>Bound from the "Observability" section and validated on start.</summary>
public sealed class ObservabilityOptions
{
    public const string SectionName = "Observability";

    /// <summary>
    /// Print the number of live calls as a CloudWatch embedded-metric-format line (namespace VoiceAgent, metric
    /// ActiveCalls, no dimensions) on standard output. On Fargate the awslogs driver ships it and CloudWatch turns
    /// it into the metric the service scales on; no collector is needed.
    /// </summary>
    public bool CloudWatchActiveCalls { get; set; }

    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Observability:CloudWatchInterval must be between 1 s and 5 min.")]
    public TimeSpan CloudWatchInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Publishes <c>VoiceAgent/ActiveCalls</c> for autoscaling, as embedded-metric-format lines.</summary>
internal sealed class CloudWatchActiveCalls(
    IActiveCallRegistry registry,
    IOptions<ObservabilityOptions> options,
    TimeProvider timeProvider,
    TextWriter output) : BackgroundService
{
    public const string Namespace = "VoiceAgent";
    public const string MetricName = "ActiveCalls";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CloudWatchInterval, timeProvider);
        try
        {
            do
            {
                await output.WriteLineAsync(Line(timeProvider.GetUtcNow(), registry.Count).AsMemory(), stoppingToken).ConfigureAwait(false);
                await output.FlushAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One EMF log event: the metric's definition in <c>_aws</c> and its value at the root.</summary>
    internal static string Line(DateTimeOffset at, int activeCalls)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("_aws");
            json.WriteNumber("Timestamp", at.ToUnixTimeMilliseconds());
            json.WriteStartArray("CloudWatchMetrics");
            json.WriteStartObject();
            json.WriteString("Namespace", Namespace);
            json.WriteStartArray("Dimensions");
            json.WriteStartArray();
            json.WriteEndArray();
            json.WriteEndArray();
            json.WriteStartArray("Metrics");
            json.WriteStartObject();
            json.WriteString("Name", MetricName);
            json.WriteString("Unit", "Count");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteNumber(MetricName, activeCalls);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
