using System.Diagnostics.Metrics;
using Amazon.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;
using VoiceAgent.Infrastructure.Llm.Bedrock;

namespace VoiceAgent.Integration.Tests.Bedrock;

/// <summary>The Bedrock client and its resilient model, pointed at a <see cref="FakeBedrockServer"/>.</summary>
internal sealed class BedrockHarness : IDisposable
{
    private readonly ServiceProvider _metrics;
    private readonly MeterListener _listener = new();
    private readonly HttpMessageInvoker _http = new(new SocketsHttpHandler());

    public BedrockHarness(FakeBedrockServer server, Action<BedrockOptions>? configure = null, TimeProvider? time = null, string? environment = null)
    {
        Options = new BedrockOptions
        {
            Region = "us-east-1",
            Endpoint = server.BaseAddress,
            FirstTokenTimeout = TimeSpan.FromSeconds(5),
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            MaxRetryAttempts = 1,
        };
        configure?.Invoke(Options);
        _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = _metrics.GetRequiredService<IMeterFactory>();
        Client = new ConverseStreamClient(_http, Options, () => new BasicAWSCredentials("AKIDEXAMPLE12345678", "secret-key"), TimeProvider.System, environment);
        Model = new BedrockLanguageModel(Client, Options, new BedrockMetrics(meterFactory), time ?? TimeProvider.System, NullLogger<BedrockLanguageModel>.Instance);

        // Only this harness's meter: other tests (the hosted app) publish the same meter name in parallel.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == BedrockMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Record(i.Name, value, tags));
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Record(i.Name, value, tags));
        _listener.Start();
    }

    public BedrockOptions Options { get; }

    public ConverseStreamClient Client { get; }

    public BedrockLanguageModel Model { get; }

    public List<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements { get; } = [];

    public static ModelRequest Request(params string[] profiles) => new(
        "You are a pizza assistant.",
        [new ConversationMessage(ConversationRole.User, [new TextBlock("A large pepperoni, please.")])],
        [],
        new ModelSettings { InferenceProfiles = profiles, MaxTokens = 200 });

    public static async Task<List<ModelStreamEvent>> CollectAsync(IAsyncEnumerable<ModelStreamEvent> stream, CancellationToken cancellationToken = default)
    {
        var events = new List<ModelStreamEvent>();
        await foreach (var e in stream.WithCancellation(cancellationToken))
        {
            events.Add(e);
        }

        return events;
    }

    public void Dispose()
    {
        _listener.Dispose();
        _metrics.Dispose();
        _http.Dispose();
    }

    private void Record(string name, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        lock (Measurements)
        {
            Measurements.Add((name, value, copy));
        }
    }
}
