using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Integration.Tests.Bedrock;

/// <summary>
/// The Converse request as Bedrock receives it: static parts first with cache points (system, tools where the model
/// caches them, the end of the history), this call's part of the prompt after them, request metadata and stop
/// sequences; a profile that refuses cache points is asked without them and remembered; the metadata event's cache
/// tokens and every stop reason are read.
/// </summary>
public sealed class PromptCachingTests : IAsyncLifetime
{
    private const string Claude = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
    private const string Nova = "us.amazon.nova-lite-v1:0";
    private const string Base = "You take pizza orders for Dough & Co.\n\nMENU\nMargherita, pepperoni.\n\nTHIS CALL\n";
    private FakeBedrockServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeBedrockServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static ModelRequest Request(ModelSettings? settings = null) => new(
        Base + "Today is Saturday. The caller's name: Ana.",
        [
            new ConversationMessage(ConversationRole.User, [new TextBlock("A large pepperoni")]),
            new ConversationMessage(ConversationRole.Assistant, [new ToolUseBlock("t1", "place_order", "{\"size\":\"large\"}")]),
            new ConversationMessage(ConversationRole.User, [new ToolResultBlock("t1", "{\"orderId\":\"O-1\"}", ToolResultStatus.Success)]),
            new ConversationMessage(ConversationRole.Assistant, [new TextBlock("Order O-1 is in.")]),
            new ConversationMessage(ConversationRole.User, [new TextBlock("Thanks!")]),
        ],
        [new ToolSpec("place_order", "Places an order.", "{\"type\":\"object\"}"), new ToolSpec("end_call", "Ends the call.", "{\"type\":\"object\"}")],
        settings ?? new ModelSettings { StopSequences = ["\nCaller:"] })
    {
        StaticPromptLength = Base.Length,
        Metadata = new Dictionary<string, string> { ["useCase"] = "pizza", ["call"] = "0123456789abcdef0123456789abcdef" },
    };

    [Fact]
    public async Task A_caching_model_gets_the_static_prompt_tools_and_history_each_closed_by_a_cache_point_and_the_call_part_after()
    {
        _server.On(Claude, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("ok")));
        using var harness = new BedrockHarness(_server, environment: "Staging");

        await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Claude, Request(), CancellationToken.None));

        using var body = JsonDocument.Parse(Assert.Single(_server.Requests).Body);
        var root = body.RootElement;
        var system = root.GetProperty("system");
        Assert.Equal(3, system.GetArrayLength());
        Assert.Equal(Base, system[0].GetProperty("text").GetString());
        Assert.Equal("default", system[1].GetProperty("cachePoint").GetProperty("type").GetString());
        Assert.Equal("Today is Saturday. The caller's name: Ana.", system[2].GetProperty("text").GetString());

        var tools = root.GetProperty("toolConfig").GetProperty("tools");
        Assert.Equal(["place_order", "end_call"], tools.EnumerateArray().Take(2).Select(t => t.GetProperty("toolSpec").GetProperty("name").GetString()));
        Assert.Equal("default", tools[2].GetProperty("cachePoint").GetProperty("type").GetString());
        Assert.Equal(3, tools.GetArrayLength());

        var messages = root.GetProperty("messages");
        var last = messages[messages.GetArrayLength() - 1].GetProperty("content");
        Assert.Equal("Thanks!", last[0].GetProperty("text").GetString());
        Assert.Equal("default", last[1].GetProperty("cachePoint").GetProperty("type").GetString());
        Assert.Equal(3, CachePoints(root));

        Assert.Equal(["\nCaller:"], root.GetProperty("inferenceConfig").GetProperty("stopSequences").EnumerateArray().Select(s => s.GetString()));
        var metadata = root.GetProperty("requestMetadata");
        Assert.Equal(("pizza", "0123456789abcdef0123456789abcdef", "Staging"), (
            metadata.GetProperty("useCase").GetString(), metadata.GetProperty("call").GetString(), metadata.GetProperty("environment").GetString()));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task With_the_calls_encoded_messages_every_turns_body_is_the_one_written_afresh(bool promptCaching)
    {
        _server.On(Claude, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("ok")));
        using var harness = new BedrockHarness(_server);
        var settings = new ModelSettings { PromptCaching = promptCaching };
        var messages = Request().Messages;
        var bye = new ConversationMessage(ConversationRole.User, [new TextBlock("Thanks! \"Bye\" \u00e9\u4f60")]);
        var prompt = Request().SystemPrompt;
        var summarized = prompt + "\n\nEarlier in this call (summary): the caller ordered a \"large\" pepperoni, O-1.";
        (IReadOnlyList<ConversationMessage> Messages, string Prompt)[] turns =
        [
            ([.. messages.Take(1)], prompt),
            ([.. messages.Take(3)], prompt),
            (messages, prompt), // the history grows
            ([.. messages.Take(4), bye], prompt), // the last message replaced (a barge-in joined the caller's words)
            ([messages[0], messages[1], messages[2]], prompt), // and back
            ([bye], summarized), // the older part folded into the summary, which the prompt now carries
            ([bye], prompt + "\n\nEarlier in this call (summary): another summary."), // a later fold
        ];
        var encodings = new MessageEncodings();

        foreach (var turn in turns)
        {
            var request = Request(settings) with { Messages = turn.Messages, SystemPrompt = turn.Prompt };
            await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Claude, request with { Encodings = encodings }, CancellationToken.None));
            await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Claude, request, CancellationToken.None));
        }

        var bodies = _server.Requests.Select(r => r.Body).ToList();
        Assert.Equal(turns.Length * 2, bodies.Count);
        for (var i = 0; i < bodies.Count; i += 2)
        {
            Assert.Equal(bodies[i + 1], bodies[i]);
        }

        using var last = JsonDocument.Parse(bodies[^1]);
        Assert.Equal("Thanks! \"Bye\" \u00e9\u4f60", last.RootElement.GetProperty("messages")[0].GetProperty("content")[0].GetProperty("text").GetString());
        var system = last.RootElement.GetProperty("system");
        Assert.EndsWith("another summary.", system[system.GetArrayLength() - 1].GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_Nova_model_caches_system_and_messages_but_gets_no_cache_point_in_its_tools()
    {
        _server.On(Nova, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("ok")));
        using var harness = new BedrockHarness(_server);

        await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Nova, Request(), CancellationToken.None));

        using var body = JsonDocument.Parse(Assert.Single(_server.Requests).Body);
        var tools = body.RootElement.GetProperty("toolConfig").GetProperty("tools");
        Assert.All(tools.EnumerateArray(), t => Assert.True(t.TryGetProperty("toolSpec", out _)));
        Assert.Equal(2, CachePoints(body.RootElement));
    }

    [Fact]
    public async Task With_caching_off_there_is_no_cache_point_and_the_prompt_is_still_whole()
    {
        _server.On(Claude, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("ok")));
        using var harness = new BedrockHarness(_server);

        await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Claude, Request(new ModelSettings { PromptCaching = false }), CancellationToken.None));

        using var body = JsonDocument.Parse(Assert.Single(_server.Requests).Body);
        Assert.Equal(0, CachePoints(body.RootElement));
        Assert.Equal(Request().SystemPrompt, string.Concat(body.RootElement.GetProperty("system").EnumerateArray().Select(b => b.GetProperty("text").GetString())));
        Assert.False(body.RootElement.GetProperty("inferenceConfig").TryGetProperty("stopSequences", out _));
    }

    [Fact]
    public async Task A_profile_that_refuses_cache_points_answers_the_same_turn_without_them_and_is_asked_without_them_after()
    {
        // The server records each request before it runs the script: the last one recorded is this one.
        _server.On(Claude, ctx => _server.Requests.Last().Body.Contains("cachePoint", StringComparison.Ordinal)
            ? FakeBedrockServer.ErrorAsync(ctx, 400, "ValidationException", "The model does not support cachePoint blocks.")
            : FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("Sure.")));
        using var harness = new BedrockHarness(_server);
        var request = Request(new ModelSettings { InferenceProfiles = [Claude] });

        var first = await BedrockHarness.CollectAsync(harness.Model.StreamAsync(request, CancellationToken.None));
        var second = await BedrockHarness.CollectAsync(harness.Model.StreamAsync(request, CancellationToken.None));

        Assert.Equal("Sure.", Assert.Single(first.OfType<TextDelta>()).Text);
        Assert.Equal("Sure.", Assert.Single(second.OfType<TextDelta>()).Text);
        Assert.Equal([true, false, false], _server.Requests.Select(r => r.Body.Contains("cachePoint", StringComparison.Ordinal)));
        var refused = Assert.Single(harness.Measurements, m => m.Instrument == "voiceagent.llm.cache_points_refused");
        Assert.Equal(Claude, refused.Tags["profile"]);
        Assert.DoesNotContain(harness.Measurements, m => m.Instrument == "voiceagent.llm.profile_failures");
    }

    [Fact]
    public async Task A_validation_error_about_something_else_is_not_taken_for_a_refusal_of_cache_points()
    {
        _server.On(Claude, ctx => FakeBedrockServer.ErrorAsync(ctx, 400, "ValidationException", "Malformed input request: messages must alternate."));
        using var harness = new BedrockHarness(_server);

        await Assert.ThrowsAsync<LanguageModelUnavailableException>(() =>
            BedrockHarness.CollectAsync(harness.Model.StreamAsync(Request(new ModelSettings { InferenceProfiles = [Claude] }), CancellationToken.None)));

        Assert.Single(_server.Requests);
        Assert.DoesNotContain(harness.Measurements, m => m.Instrument == "voiceagent.llm.cache_points_refused");
    }

    [Fact]
    public async Task Cache_read_and_write_tokens_are_read_from_the_metadata_event_and_counted_by_type()
    {
        byte[] answer =
        [
            .. FakeBedrockServer.Event("messageStart", "{\"role\":\"assistant\"}"),
            .. FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}"),
            .. FakeBedrockServer.Event("messageStop", "{\"stopReason\":\"end_turn\"}"),
            .. FakeBedrockServer.Event("metadata", "{\"usage\":{\"inputTokens\":12,\"outputTokens\":3,\"totalTokens\":1515,\"cacheReadInputTokens\":1400,\"cacheWriteInputTokens\":100},\"metrics\":{\"latencyMs\":210}}"),
        ];
        _server.On(Claude, ctx => FakeBedrockServer.StreamAsync(ctx, answer));
        using var harness = new BedrockHarness(_server);

        var events = await BedrockHarness.CollectAsync(harness.Model.StreamAsync(Request(new ModelSettings { InferenceProfiles = [Claude] }), CancellationToken.None));

        Assert.Equal(new ModelUsage(12, 3, 210, CacheReadInputTokens: 1400, CacheWriteInputTokens: 100), Assert.IsType<ModelCompleted>(events[^1]).Usage);
        var tokens = harness.Measurements.Where(m => m.Instrument == "voiceagent.llm.tokens").ToDictionary(m => (string)m.Tags["type"]!, m => m.Value);
        Assert.Equal(new Dictionary<string, double> { ["input"] = 12, ["output"] = 3, ["cache_read"] = 1400, ["cache_write"] = 100 }, tokens);
    }

    [Theory]
    [InlineData("end_turn", ModelStopReason.EndTurn)]
    [InlineData("tool_use", ModelStopReason.ToolUse)]
    [InlineData("max_tokens", ModelStopReason.MaxTokens)]
    [InlineData("stop_sequence", ModelStopReason.StopSequence)]
    [InlineData("guardrail_intervened", ModelStopReason.GuardrailIntervened)]
    [InlineData("content_filtered", ModelStopReason.ContentFiltered)]
    [InlineData("model_context_window_exceeded", ModelStopReason.ModelContextWindowExceeded)]
    [InlineData("malformed_model_output", ModelStopReason.MalformedModelOutput)]
    [InlineData("malformed_tool_use", ModelStopReason.MalformedToolUse)]
    [InlineData("something_new", ModelStopReason.Other)]
    public async Task Every_documented_stop_reason_is_read_as_itself(string wire, ModelStopReason expected)
    {
        byte[] answer =
        [
            .. FakeBedrockServer.Event("messageStart", "{\"role\":\"assistant\"}"),
            .. FakeBedrockServer.Event("messageStop", JsonSerializer.Serialize(new { stopReason = wire })),
        ];
        _server.On(Claude, ctx => FakeBedrockServer.StreamAsync(ctx, answer));
        using var harness = new BedrockHarness(_server);

        var events = await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Claude, Request(), CancellationToken.None));

        Assert.Equal(expected, Assert.IsType<ModelCompleted>(events[^1]).StopReason);
    }

    private static int CachePoints(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Sum(p => (p.NameEquals("cachePoint") ? 1 : 0) + CachePoints(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().Sum(CachePoints),
        _ => 0,
    };
}

/// <summary>reasoningContent: read from the stream, never spoken, kept with the tool uses and sent back unchanged.</summary>
public sealed class ReasoningContentTests : IAsyncLifetime
{
    private const string Claude = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";
    private FakeBedrockServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeBedrockServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Reasoning_deltas_become_one_block_with_its_signature_ahead_of_the_tool_use_and_redacted_reasoning_stays_opaque()
    {
        byte[] answer =
        [
            .. FakeBedrockServer.Event("messageStart", "{\"role\":\"assistant\"}"),
            .. FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"The caller wants \"}}}"),
            .. FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"a pickup time.\"}}}"),
            .. FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"signature\":\"EqoBCkgIAxABGAIi\"}}}"),
            .. FakeBedrockServer.Event("contentBlockStop", "{\"contentBlockIndex\":0}"),
            .. FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"reasoningContent\":{\"redactedContent\":\"AAECAw==\"}}}"),
            .. FakeBedrockServer.Event("contentBlockStop", "{\"contentBlockIndex\":1}"),
            .. FakeBedrockServer.Event("contentBlockStart", "{\"contentBlockIndex\":2,\"start\":{\"toolUse\":{\"toolUseId\":\"t1\",\"name\":\"check_pickup_time\"}}}"),
            .. FakeBedrockServer.Event("contentBlockDelta", "{\"contentBlockIndex\":2,\"delta\":{\"toolUse\":{\"input\":\"{}\"}}}"),
            .. FakeBedrockServer.Event("contentBlockStop", "{\"contentBlockIndex\":2}"),
            .. FakeBedrockServer.Event("messageStop", "{\"stopReason\":\"tool_use\"}"),
        ];
        _server.On(Claude, ctx => FakeBedrockServer.StreamAsync(ctx, answer, chunkSize: 5));
        using var harness = new BedrockHarness(_server);

        var events = await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Claude, BedrockHarness.Request(), CancellationToken.None));

        Assert.Equal(
            [new ReasoningBlock("The caller wants a pickup time.", "EqoBCkgIAxABGAIi"), new ReasoningBlock(null, null, "AAECAw==")],
            events.OfType<ReasoningProduced>().Select(r => r.Block));
        Assert.Empty(events.OfType<TextDelta>());
        Assert.IsType<ToolUseRequested>(events[2]);
    }

    [Fact]
    public async Task Reasoning_in_the_history_is_sent_back_first_and_unchanged()
    {
        _server.On(Claude, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("ok")));
        using var harness = new BedrockHarness(_server);
        var request = BedrockHarness.Request() with
        {
            Messages =
            [
                new ConversationMessage(ConversationRole.User, [new TextBlock("When is it ready?")]),
                new ConversationMessage(ConversationRole.Assistant, [new ReasoningBlock("Check the kitchen.", "sig-1"), new ReasoningBlock(null, null, "AAECAw=="), new TextBlock("Let me check."), new ToolUseBlock("t1", "check_pickup_time", "{}")]),
                new ConversationMessage(ConversationRole.User, [new ToolResultBlock("t1", "{\"minutes\":20}", ToolResultStatus.Success)]),
            ],
        };

        await BedrockHarness.CollectAsync(harness.Client.StreamAsync(Claude, request, CancellationToken.None));

        using var body = JsonDocument.Parse(Assert.Single(_server.Requests).Body);
        var content = body.RootElement.GetProperty("messages")[1].GetProperty("content");
        var text = content[0].GetProperty("reasoningContent").GetProperty("reasoningText");
        Assert.Equal(("Check the kitchen.", "sig-1"), (text.GetProperty("text").GetString(), text.GetProperty("signature").GetString()));
        Assert.Equal("AAECAw==", content[1].GetProperty("reasoningContent").GetProperty("redactedContent").GetString());
        Assert.Equal("Let me check.", content[2].GetProperty("text").GetString());
        Assert.Equal("t1", content[3].GetProperty("toolUse").GetProperty("toolUseId").GetString());
    }
}
