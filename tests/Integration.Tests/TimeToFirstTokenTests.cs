using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Integration.Tests;

public sealed class TimeToFirstTokenTests
{
    private static readonly TimeSpan ModelDelay = TimeSpan.FromMilliseconds(150);
    private const double CoarseClockSlackMs = 10;

    [Fact]
    public async Task Is_measured_once_per_answer_from_the_prompt_on_the_socket_to_the_first_token_written()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model.Then((_, ct) => SlowToStart(ct)).ThenSays("Second ", "answer.");
        var meterFactory = factory.Services.GetRequiredService<IMeterFactory>();
        var measured = new ConcurrentQueue<(double Ms, string? UseCase)>();
        Histogram<double>? histogram = null;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "voiceagent.turn.time_to_first_token" && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    histogram = (Histogram<double>)instrument;
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            measured.Enqueue((value, tags.ToArray().Single(t => t.Key == "use_case").Value as string)));
        listener.Start();

        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();
        await twilio.PromptAsync("Are you open?");
        Assert.Equal("First answer.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        await twilio.PromptAsync("And tomorrow?");
        Assert.Equal("Second answer.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));

        Assert.Equal(2, measured.Count);
        var (slow, useCase) = measured.First();
        // Task.Delay runs on the coarse tick count (a few ms per tick on Linux), which can end the delay a little
        // before the high-resolution clock the measurement uses has seen all of it.
        Assert.InRange(slow, ModelDelay.TotalMilliseconds - CoarseClockSlackMs, 10_000);
        Assert.Equal("pizza", useCase);
        Assert.InRange(measured.Last().Ms, 0, slow);

        // Exporters aggregate it with buckets that resolve the service's own milliseconds, not the 5 ms default floor.
        var buckets = histogram!.Advice!.HistogramBucketBoundaries!;
        Assert.Equal(buckets.Order(), buckets);
        Assert.Contains(buckets, b => b < 1);
        Assert.Contains(2.0, buckets);
    }

    private static async IAsyncEnumerable<ModelStreamEvent> SlowToStart([EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Delay(ModelDelay, ct);
        yield return new TextDelta("First ");
        yield return new TextDelta("answer.");
        yield return new ModelCompleted(ModelStopReason.EndTurn);
    }
}
