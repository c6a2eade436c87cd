using Microsoft.Extensions.Time.Testing;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Infrastructure.Llm.Bedrock;

namespace VoiceAgent.Integration.Tests.Bedrock;

/// <summary>Fallback across inference profiles, retries, circuit breaking, first-token timeout and hedging.</summary>
public sealed class BedrockResilienceTests : IAsyncLifetime
{
    private const string A = "us.amazon.nova-lite-v1:0";
    private const string B = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
    private const string C = "global.anthropic.claude-haiku-4-5-20251001-v1:0";
    private FakeBedrockServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeBedrockServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_throttled_profile_is_retried_once_then_the_next_profile_answers()
    {
        _server.On(A, ctx => FakeBedrockServer.ErrorAsync(ctx, 429, "ThrottlingException", "slow down"));
        _server.On(B, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("From ", "B.")));
        using var harness = new BedrockHarness(_server);

        var events = await BedrockHarness.CollectAsync(harness.Model.StreamAsync(BedrockHarness.Request(A, B), CancellationToken.None));

        Assert.Equal("From B.", string.Concat(events.OfType<TextDelta>().Select(t => t.Text)));
        Assert.Equal((2, 1), (_server.CountFor(A), _server.CountFor(B)));
        var fallback = Assert.Single(harness.Measurements, m => m.Instrument == "voiceagent.llm.fallbacks");
        Assert.Equal(B, fallback.Tags["profile"]);
        var ttft = Assert.Single(harness.Measurements, m => m.Instrument == "voiceagent.llm.time_to_first_token");
        Assert.Equal((B, 1), ((string)ttft.Tags["profile"]!, (int)ttft.Tags["fallback_depth"]!));
    }

    [Fact]
    public async Task After_the_first_token_a_failure_surfaces_and_no_other_profile_repeats_the_answer()
    {
        _server.On(A, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.Golden("conversestream-throttled-mid-stream.bin")));
        _server.On(B, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("Should not be asked.")));
        using var harness = new BedrockHarness(_server);
        var seen = new List<ModelStreamEvent>();

        var error = await Assert.ThrowsAsync<BedrockException>(async () =>
        {
            await foreach (var e in harness.Model.StreamAsync(BedrockHarness.Request(A, B), CancellationToken.None))
            {
                seen.Add(e);
            }
        });

        Assert.Equal(BedrockErrorKind.Throttling, error.Kind);
        Assert.Equal("One moment", Assert.Single(seen.OfType<TextDelta>()).Text);
        Assert.Equal((1, 0), (_server.CountFor(A), _server.CountFor(B)));
    }

    [Fact]
    public async Task A_stream_that_stalls_after_its_first_token_ends_within_the_stall_timeout_and_counts_against_the_breaker()
    {
        var first = FakeBedrockServer.TextAnswer("One moment");
        var head = first.AsSpan(0, first.Length - FakeBedrockServer.TextAnswer().Length + FakeBedrockServer.Event("messageStart", "{\"role\":\"assistant\"}").Length).ToArray();
        _server.On(A, async ctx =>
        {
            // messageStart and the first delta, then silence until the client gives up.
            await FakeBedrockServer.StreamAsync(ctx, head);
            await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted);
        });
        _server.On(B, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("From B.")));
        using var harness = new BedrockHarness(_server, o =>
        {
            o.StreamStallTimeout = TimeSpan.FromSeconds(1);
            // Each stalled request is two outcomes for the breaker: the stream opened, then it failed.
            o.BreakerMinimumThroughput = 4;
            o.BreakerFailureRatio = 0.5;
            o.MaxRetryAttempts = 0;
        });

        for (var stall = 0; stall < 2; stall++)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var seen = new List<ModelStreamEvent>();
            var error = await Assert.ThrowsAsync<BedrockException>(async () =>
            {
                await foreach (var e in harness.Model.StreamAsync(BedrockHarness.Request(A, B), CancellationToken.None))
                {
                    seen.Add(e);
                }
            });
            Assert.Equal(BedrockErrorKind.StreamStalled, error.Kind);
            Assert.Equal("One moment", Assert.Single(seen.OfType<TextDelta>()).Text);
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"the stall took {started.Elapsed} to end");
        }

        // Two stalls opened A's circuit: the next answer comes from B without asking A.
        var events = await BedrockHarness.CollectAsync(harness.Model.StreamAsync(BedrockHarness.Request(A, B), CancellationToken.None));
        Assert.Equal("From B.", string.Concat(events.OfType<TextDelta>().Select(t => t.Text)));
        Assert.Equal(2, _server.CountFor(A));
        Assert.Equal(2, harness.Measurements.Count(m => m.Instrument == "voiceagent.llm.profile_failures" && (string)m.Tags["kind"]! == nameof(BedrockErrorKind.StreamStalled)));
    }

    [Fact]
    public async Task A_profile_slow_to_its_first_token_is_abandoned_for_the_next_on_the_injected_clock()
    {
        _server.On(A, async ctx => await Task.Delay(Timeout.Infinite, ctx.RequestAborted));
        _server.On(B, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("In time.")));
        var clock = new FakeTimeProvider();
        using var harness = new BedrockHarness(_server, o => o.FirstTokenTimeout = TimeSpan.FromSeconds(2), clock);

        var answer = BedrockHarness.CollectAsync(harness.Model.StreamAsync(BedrockHarness.Request(A, B), CancellationToken.None));
        await ConverseStreamClientTests.WaitUntilAsync(() => _server.CountFor(A) == 1);
        clock.Advance(TimeSpan.FromSeconds(1.9));
        await Task.Delay(50);
        Assert.False(answer.IsCompleted);
        Assert.Equal(0, _server.CountFor(B));
        clock.Advance(TimeSpan.FromSeconds(0.1));

        var events = await answer.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("In time.", Assert.Single(events.OfType<TextDelta>()).Text);
        Assert.Equal(1, _server.CountFor(A));
        await ConverseStreamClientTests.WaitUntilAsync(() => _server.Aborted.Contains(A));
        Assert.Contains(harness.Measurements, m => m.Instrument == "voiceagent.llm.profile_failures" && (string)m.Tags["kind"]! == nameof(BedrockErrorKind.FirstTokenTimeout));
    }

    [Fact]
    public async Task With_hedging_a_slow_first_profile_races_the_second_and_the_first_token_wins()
    {
        _server.On(A, async ctx =>
        {
            await Task.Delay(TimeSpan.FromSeconds(3), ctx.RequestAborted);
            await FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("Slow A."));
        });
        _server.On(B, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("Quick B.")));
        using var harness = new BedrockHarness(_server, o =>
        {
            o.HedgingEnabled = true;
            o.HedgingDelay = TimeSpan.FromMilliseconds(100);
        });

        var events = await BedrockHarness.CollectAsync(harness.Model.StreamAsync(BedrockHarness.Request(A, B), CancellationToken.None));

        Assert.Equal("Quick B.", Assert.Single(events.OfType<TextDelta>()).Text);
        await ConverseStreamClientTests.WaitUntilAsync(() => _server.Aborted.Contains(A));
        Assert.Contains(harness.Measurements, m => m.Instrument == "voiceagent.llm.hedged_requests");
    }

    [Fact]
    public async Task A_failing_profile_trips_its_circuit_and_is_skipped_while_open()
    {
        _server.On(A, ctx => FakeBedrockServer.ErrorAsync(ctx, 503, "ServiceUnavailableException", "down"));
        _server.On(B, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("B.")));
        using var harness = new BedrockHarness(_server, o =>
        {
            o.MaxRetryAttempts = 0;
            o.BreakerMinimumThroughput = 2;
            o.BreakerFailureRatio = 0.5;
            o.BreakerBreakDuration = TimeSpan.FromMinutes(1);
        });

        for (var i = 0; i < 4; i++)
        {
            var events = await BedrockHarness.CollectAsync(harness.Model.StreamAsync(BedrockHarness.Request(A, B), CancellationToken.None));
            Assert.Equal("B.", Assert.Single(events.OfType<TextDelta>()).Text);
        }

        Assert.Equal(2, _server.CountFor(A));
        Assert.Equal(4, _server.CountFor(B));
        Assert.Contains(harness.Measurements, m => m.Instrument == "voiceagent.llm.profile_failures" && (string)m.Tags["kind"]! == "CircuitOpen");
    }

    [Fact]
    public async Task A_refused_profile_is_not_retried_but_the_next_one_is_tried()
    {
        _server.On(A, ctx => FakeBedrockServer.ErrorAsync(ctx, 403, "AccessDeniedException", "model not enabled"));
        _server.On(B, ctx => FakeBedrockServer.ErrorAsync(ctx, 500, "InternalServerException", "oops"));
        _server.On(C, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("C.")));
        using var harness = new BedrockHarness(_server);

        var events = await BedrockHarness.CollectAsync(harness.Model.StreamAsync(BedrockHarness.Request(A, B, C), CancellationToken.None));

        Assert.Equal("C.", Assert.Single(events.OfType<TextDelta>()).Text);
        Assert.Equal((1, 2, 1), (_server.CountFor(A), _server.CountFor(B), _server.CountFor(C)));
    }

    [Fact]
    public async Task When_every_profile_fails_the_error_names_them_all()
    {
        _server.On(A, ctx => FakeBedrockServer.ErrorAsync(ctx, 429, "ThrottlingException", "slow down"));
        _server.On(B, ctx => FakeBedrockServer.ErrorAsync(ctx, 503, "ServiceUnavailableException", "down"));
        using var harness = new BedrockHarness(_server, o => o.MaxRetryAttempts = 0);

        var error = await Assert.ThrowsAsync<LanguageModelUnavailableException>(() => BedrockHarness.CollectAsync(harness.Model.StreamAsync(BedrockHarness.Request(A, B), CancellationToken.None)));

        Assert.Contains(A, error.Message, StringComparison.Ordinal);
        Assert.Contains(B, error.Message, StringComparison.Ordinal);
        Assert.Equal(2, ((AggregateException)error.InnerException!).InnerExceptions.Count);
    }

    [Fact]
    public async Task Barge_in_while_streaming_frees_the_connection()
    {
        _server.On(A, async ctx =>
        {
            await FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Well, \"}}"));
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
        });
        using var harness = new BedrockHarness(_server);
        using var bargeIn = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var e in harness.Model.StreamAsync(BedrockHarness.Request(A), bargeIn.Token))
            {
                await bargeIn.CancelAsync();
            }
        });

        await ConverseStreamClientTests.WaitUntilAsync(() => _server.Aborted.Contains(A));
        Assert.Equal(1, _server.CountFor(A));
    }
}
