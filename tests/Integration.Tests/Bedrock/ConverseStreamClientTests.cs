using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;
using VoiceAgent.Infrastructure.Llm.Bedrock;

namespace VoiceAgent.Integration.Tests.Bedrock;

/// <summary>The raw ConverseStream client against real event-stream frames over loopback HTTP.</summary>
public sealed class ConverseStreamClientTests : IAsyncLifetime
{
    private const string Profile = "us.amazon.nova-lite-v1:0";
    private FakeBedrockServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeBedrockServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(7)]
    [InlineData(1)]
    public async Task Golden_text_turn_decodes_the_same_however_the_frames_are_split(int chunkSize)
    {
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.Golden("conversestream-text-turn.bin"), chunkSize));
        using var harness = new BedrockHarness(_server);

        var events = await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None));

        Assert.Equal(["Sure, ", "a large pepperoni?"], events.OfType<TextDelta>().Select(t => t.Text));
        var done = Assert.IsType<ModelCompleted>(events[^1]);
        Assert.Equal(ModelStopReason.EndTurn, done.StopReason);
        Assert.Equal(new ModelUsage(812, 9, 412), done.Usage);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(4093)]
    public async Task A_frame_larger_than_the_read_buffer_is_read_whole(int chunkSize)
    {
        var text = string.Concat(Enumerable.Repeat("A long answer \"quoted\" é 你. ", 2500)); // ~80 KB in one frame
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("Hi, ", text, "bye."), chunkSize));
        using var harness = new BedrockHarness(_server);

        var events = await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None));

        Assert.Equal(["Hi, ", text, "bye."], events.OfType<TextDelta>().Select(t => t.Text));
        Assert.IsType<ModelCompleted>(events[^1]);
    }

    [Theory]
    [InlineData(2)] // the prelude's checksum
    [InlineData(40)] // a header
    [InlineData(-5)] // the payload: the message's checksum
    public async Task A_corrupt_frame_fails_the_stream_as_a_transient_error_after_what_came_before(int flipAt)
    {
        var first = FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}");
        var second = FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\" there\"}}");
        second[flipAt < 0 ? second.Length + flipAt : flipAt] ^= 0x20;
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, [.. first, .. second], 5));
        using var harness = new BedrockHarness(_server);
        var seen = new List<ModelStreamEvent>();

        var error = await Assert.ThrowsAsync<BedrockException>(async () =>
        {
            await foreach (var e in harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None))
            {
                seen.Add(e);
            }
        });

        Assert.Equal(["Hi"], seen.OfType<TextDelta>().Select(t => t.Text));
        Assert.Equal(("corruptEventStream", true), (error.ErrorType, error.IsTransient));
    }

    [Fact]
    public async Task A_stream_that_ends_inside_a_frame_fails_instead_of_ending_the_answer_early()
    {
        var frames = FakeBedrockServer.TextAnswer("Hi", " there");
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, frames[..^10]));
        using var harness = new BedrockHarness(_server);

        var error = await Assert.ThrowsAsync<BedrockException>(() => BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None)));

        Assert.Equal("corruptEventStream", error.ErrorType);
    }

    [Fact]
    public async Task Text_reaches_the_reader_before_the_rest_of_the_stream_arrives()
    {
        var gate = new TaskCompletionSource();
        _server.On(Profile, async ctx =>
        {
            await FakeBedrockServer.StreamAsync(ctx, [.. FakeBedrockServer.Event("messageStart", "{\"role\":\"assistant\"}"), .. FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}")]);
            await gate.Task.WaitAsync(ctx.RequestAborted);
            await FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.Event("messageStop", "{\"stopReason\":\"end_turn\"}"));
        });
        using var harness = new BedrockHarness(_server);

        await using var events = harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("Hi", Assert.IsType<TextDelta>(events.Current).Text);
        gate.SetResult();
        Assert.True(await events.MoveNextAsync());
        Assert.IsType<ModelCompleted>(events.Current);
    }

    [Fact]
    public async Task Text_deltas_read_whatever_their_field_order_escapes_and_padding_and_other_deltas_still_gathered()
    {
        byte[] stream =
        [
            .. FakeBedrockServer.Event("messageStart", "{\"role\":\"assistant\"}"),
            .. FakeBedrockServer.Event("contentBlockDelta", """{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Size first."}}}"""),
            .. FakeBedrockServer.Event("contentBlockDelta", """{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"sig=="}}}"""),
            .. FakeBedrockServer.Event("contentBlockStop", """{"contentBlockIndex":0}"""),
            .. FakeBedrockServer.Event("contentBlockDelta", """{"p":"ab{\"delta\":{\"text\":\"no\"}}","contentBlockIndex":1,"delta":{"text":"Caf\u00e9 \"ok\"\n"}}"""),
            .. FakeBedrockServer.Event("contentBlockDelta", """{"contentBlockIndex":1,"delta":{"text":"and \\ more"},"p":"xyz"}"""),
            .. FakeBedrockServer.Event("contentBlockStop", """{"contentBlockIndex":1}"""),
            .. FakeBedrockServer.Event("messageStop", """{"stopReason":"end_turn"}"""),
        ];
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, stream));
        using var harness = new BedrockHarness(_server);

        var events = await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None));

        Assert.Equal(["Caf\u00e9 \"ok\"\n", "and \\ more"], events.OfType<TextDelta>().Select(d => d.Text));
        var reasoning = Assert.Single(events.OfType<ReasoningProduced>()).Block;
        Assert.Equal(("Size first.", "sig=="), (reasoning.Text, reasoning.Signature));
        Assert.Equal(ModelStopReason.EndTurn, Assert.IsType<ModelCompleted>(events[^1]).StopReason);
    }

    [Fact]
    public async Task Tool_use_at_block_zero_is_gathered_across_chunks_and_keeps_percent_signs()
    {
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.Golden("conversestream-tool-at-index-0.bin"), 1));
        using var harness = new BedrockHarness(_server);

        var events = await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None));

        var use = Assert.Single(events.OfType<ToolUseRequested>());
        Assert.Equal(("tooluse_Q1w2E3r4", "PlaceOrder"), (use.ToolUseId, use.Name));
        using var input = JsonDocument.Parse(use.InputJson);
        Assert.Equal("pickup", input.RootElement.GetProperty("order_type").GetString());
        Assert.Equal(21.5, input.RootElement.GetProperty("order_total").GetDouble());
        Assert.Equal("100% mozzarella", input.RootElement.GetProperty("note").GetString());
        Assert.Empty(events.OfType<TextDelta>());
        Assert.Equal(new ModelCompleted(ModelStopReason.ToolUse, new ModelUsage(900, 30, 380)) { Profile = Profile }, events[^1]);
    }

    [Fact]
    public async Task The_request_is_signed_addressed_by_escaped_model_id_and_shaped_like_Converse()
    {
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("ok")));
        using var harness = new BedrockHarness(_server, o =>
        {
            o.LatencyOptimized = true;
            o.GuardrailIdentifier = "gr-123";
            o.GuardrailVersion = "2";
            o.AdditionalModelRequestFields = "{\"top_k\":40}";
        });
        var request = new ModelRequest(
            "Be brief.",
            [
                new ConversationMessage(ConversationRole.User, [new TextBlock("Order please")]),
                new ConversationMessage(ConversationRole.Assistant, [new TextBlock("One moment."), new ToolUseBlock("t1", "place_order", "{\"size\":\"large\"}")]),
                new ConversationMessage(ConversationRole.User, [new ToolResultBlock("t1", "{\"orderId\":\"O-1\"}", ToolResultStatus.Success)]),
                new ConversationMessage(ConversationRole.Assistant, [new ToolUseBlock("t2", "check_pickup_time", "{}")]),
                new ConversationMessage(ConversationRole.User, [new ToolResultBlock("t2", "kitchen offline", ToolResultStatus.Error), new TextBlock("Hello?")]),
            ],
            [new ToolSpec("place_order", "Places an order.", "{\"type\":\"object\",\"properties\":{\"size\":{\"type\":\"string\"}}}")],
            new ModelSettings { MaxTokens = 300, Temperature = 0.5f, TopP = 0.9f, ToolChoice = "any" });

        await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, request, CancellationToken.None));

        var recorded = Assert.Single(_server.Requests);
        Assert.Equal("/model/us.amazon.nova-lite-v1%3A0/converse-stream", recorded.Path);
        Assert.Contains("/us-east-1/bedrock/aws4_request", recorded.Authorization, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(recorded.Body);
        var root = body.RootElement;
        Assert.Equal("Be brief.", root.GetProperty("system")[0].GetProperty("text").GetString());
        var messages = root.GetProperty("messages");
        Assert.Equal(["user", "assistant", "user", "assistant", "user"], messages.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        var toolUse = messages[1].GetProperty("content")[1].GetProperty("toolUse");
        Assert.Equal("large", toolUse.GetProperty("input").GetProperty("size").GetString());
        var okResult = messages[2].GetProperty("content")[0].GetProperty("toolResult");
        Assert.Equal("O-1", okResult.GetProperty("content")[0].GetProperty("json").GetProperty("orderId").GetString());
        Assert.Equal("success", okResult.GetProperty("status").GetString());
        var errorResult = messages[4].GetProperty("content")[0].GetProperty("toolResult");
        Assert.Equal("kitchen offline", errorResult.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("error", errorResult.GetProperty("status").GetString());
        Assert.Equal("Hello?", messages[4].GetProperty("content")[1].GetProperty("text").GetString());
        var toolConfig = root.GetProperty("toolConfig");
        Assert.Equal("place_order", toolConfig.GetProperty("tools")[0].GetProperty("toolSpec").GetProperty("name").GetString());
        Assert.Equal("object", toolConfig.GetProperty("tools")[0].GetProperty("toolSpec").GetProperty("inputSchema").GetProperty("json").GetProperty("type").GetString());
        Assert.True(toolConfig.GetProperty("toolChoice").TryGetProperty("any", out _));
        Assert.Equal(300, root.GetProperty("inferenceConfig").GetProperty("maxTokens").GetInt32());
        Assert.Equal(0.5, root.GetProperty("inferenceConfig").GetProperty("temperature").GetDouble(), 3);
        Assert.Equal("optimized", root.GetProperty("performanceConfig").GetProperty("latency").GetString());
        Assert.Equal("gr-123", root.GetProperty("guardrailConfig").GetProperty("guardrailIdentifier").GetString());
        Assert.Equal("sync", root.GetProperty("guardrailConfig").GetProperty("streamProcessingMode").GetString());
        Assert.Equal(40, root.GetProperty("additionalModelRequestFields").GetProperty("top_k").GetInt32());
    }

    [Fact]
    public async Task Without_tools_there_is_no_toolConfig_and_a_named_tool_choice_is_sent_as_such()
    {
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("ok")));
        using var harness = new BedrockHarness(_server);
        await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None));
        var named = BedrockHarness.Request() with
        {
            Tools = [new ToolSpec("end_call", "Ends the call.", "{\"type\":\"object\"}")],
            Settings = new ModelSettings { ToolChoice = "end_call" },
        };
        await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, named, CancellationToken.None));

        var bodies = _server.Requests.Select(r => JsonDocument.Parse(r.Body)).ToList();
        Assert.False(bodies[0].RootElement.TryGetProperty("toolConfig", out _));
        Assert.False(bodies[0].RootElement.TryGetProperty("performanceConfig", out _));
        Assert.Equal("end_call", bodies[1].RootElement.GetProperty("toolConfig").GetProperty("toolChoice").GetProperty("tool").GetProperty("name").GetString());
        bodies.ForEach(b => b.Dispose());
    }

    [Theory]
    [InlineData(403, "AccessDeniedException", BedrockErrorKind.AccessDenied, false)]
    [InlineData(404, "ResourceNotFoundException", BedrockErrorKind.ResourceNotFound, false)]
    [InlineData(408, "ModelTimeoutException", BedrockErrorKind.ModelTimeout, true)]
    [InlineData(424, "ModelErrorException", BedrockErrorKind.ModelError, false)]
    [InlineData(429, "ThrottlingException", BedrockErrorKind.Throttling, true)]
    [InlineData(500, "InternalServerException", BedrockErrorKind.InternalServer, true)]
    [InlineData(503, "ServiceUnavailableException", BedrockErrorKind.ServiceUnavailable, true)]
    [InlineData(400, "ValidationException", BedrockErrorKind.Validation, false)]
    public async Task Http_errors_before_the_stream_become_typed_exceptions(int status, string type, BedrockErrorKind kind, bool transient)
    {
        _server.On(Profile, ctx => FakeBedrockServer.ErrorAsync(ctx, status, type, "nope"));
        using var harness = new BedrockHarness(_server);

        var error = await Assert.ThrowsAsync<BedrockException>(() => BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None)));

        Assert.Equal((kind, status, transient), (error.Kind, error.StatusCode, error.IsTransient));
        Assert.Contains("nope", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("conversestream-throttled-mid-stream.bin", BedrockErrorKind.Throttling, 1)]
    [InlineData("conversestream-model-stream-error.bin", BedrockErrorKind.ModelStreamError, 0)]
    public async Task Golden_exception_frames_mid_stream_become_typed_exceptions_after_what_came_before(string file, BedrockErrorKind kind, int textBefore)
    {
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.Golden(file), 3));
        using var harness = new BedrockHarness(_server);
        var seen = new List<ModelStreamEvent>();

        var error = await Assert.ThrowsAsync<BedrockException>(async () =>
        {
            await foreach (var e in harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None))
            {
                seen.Add(e);
            }
        });

        Assert.Equal(kind, error.Kind);
        Assert.Equal(textBefore, seen.OfType<TextDelta>().Count());
    }

    [Theory]
    [InlineData("internalServerException", BedrockErrorKind.InternalServer)]
    [InlineData("serviceUnavailableException", BedrockErrorKind.ServiceUnavailable)]
    [InlineData("validationException", BedrockErrorKind.Validation)]
    public async Task Other_exception_frames_are_typed_too(string type, BedrockErrorKind kind)
    {
        _server.On(Profile, ctx => FakeBedrockServer.StreamAsync(ctx, [.. FakeBedrockServer.Event("messageStart", "{\"role\":\"assistant\"}"), .. FakeBedrockServer.Exception(type, "boom")]));
        using var harness = new BedrockHarness(_server);

        var error = await Assert.ThrowsAsync<BedrockException>(() => BedrockHarness.CollectAsync(harness.Client.StreamAsync(Profile, BedrockHarness.Request(), CancellationToken.None)));
        Assert.Equal(kind, error.Kind);
    }

    [Fact]
    public async Task Cancelling_the_reader_aborts_the_http_stream_at_once()
    {
        _server.On(Profile, async ctx =>
        {
            await FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Let me \"}}"));
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
        });
        using var harness = new BedrockHarness(_server);
        using var bargeIn = new CancellationTokenSource();

        var reading = Task.Run(async () =>
        {
            await foreach (var e in harness.Client.StreamAsync(Profile, BedrockHarness.Request(), bargeIn.Token))
            {
                await bargeIn.CancelAsync();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WaitAsync(TimeSpan.FromSeconds(5)));
        await WaitUntilAsync(() => _server.Aborted.Contains(Profile));
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
