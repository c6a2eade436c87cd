using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Infrastructure.Aws;
using VoiceAgent.Infrastructure.Buffers;

namespace VoiceAgent.Infrastructure.Llm.Bedrock;

/// <summary>
/// One ConverseStream call on one model or inference profile: a SigV4-signed POST, then the
/// application/vnd.amazon.eventstream response decoded as it arrives. Text deltas are yielded the moment their
/// frame is complete; tool-use input is gathered per content block and yielded at its contentBlockStop.
/// No retries here: the resilience layer decides. Sent through an <see cref="HttpMessageInvoker"/>, not an
/// <see cref="HttpClient"/>: the request's own deadlines stop it, and HttpClient's linked cancellation source per request,
/// its pending-request tracking and its extra async step are work the client does not need.
/// The response is not buffered: its body is read as it arrives.
/// </summary>
internal sealed class ConverseStreamClient(HttpMessageInvoker http, BedrockOptions options, Func<AWSCredentials> credentials, TimeProvider time, string? environment = null)
{
    private const int ReadBufferSize = 16 * 1024;
    private const string JsonType = "application/json";
    private const string EventStreamType = "application/vnd.amazon.eventstream";
    private readonly Uri _endpoint = options.ResolveEndpoint();
    private readonly SigV4Signer _signer = new(options.Region!, "bedrock");

    /// <summary>Each inference profile's ConverseStream URI, made once (a profile is asked every turn of every call).</summary>
    private readonly ConcurrentDictionary<string, Uri> _uris = new(StringComparer.Ordinal);

    public IAsyncEnumerable<ModelStreamEvent> StreamAsync(string profile, ModelRequest request, CancellationToken cancellationToken) =>
        StreamAsync(profile, request, cachePoints: true, cancellationToken);

    /// <summary>
    /// Streams one answer from <paramref name="profile"/>. With <paramref name="cachePoints"/> false no cache point is
    /// sent whatever the use case says (a profile that refused them). Nova models cache the system prompt and messages
    /// but not tools: a Nova request marks no tools.
    /// </summary>
    public async IAsyncEnumerable<ModelStreamEvent> StreamAsync(
        string profile,
        ModelRequest request,
        bool cachePoints,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Disposed last: the pooled body goes back only once the request that sends it is disposed.
        using var body = ConverseRequestWriter.Write(request, options, CachePointsFor(profile, request, cachePoints), environment);
        using var message = CreateRequest(profile, body);
        using var response = await http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorFromResponseAsync(profile, response, cancellationToken).ConfigureAwait(false);
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var parser = new ConverseStreamParser(profile);
        // One pooled buffer for the answer's stream: frames are read in place, nothing is allocated per frame but the
        // parsed event.
        using var reader = new EventStreamReader(ReadBufferSize);
        while (true)
        {
            var read = await stream.ReadAsync(reader.GetMemory(), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            reader.Advance(read);
            while (ReadFrame(reader, profile, out var frame))
            {
                if (parser.Parse(frame) is { } streamEvent)
                {
                    yield return streamEvent;
                }
            }
        }

        if (reader.HasPartialMessage)
        {
            throw CorruptStream(profile, "the stream ended inside an event-stream message");
        }

        yield return parser.Complete();
    }

    private static bool ReadFrame(EventStreamReader reader, string profile, out EventFrame frame)
    {
        try
        {
            return reader.TryRead(out frame);
        }
        catch (InvalidDataException ex)
        {
            throw CorruptStream(profile, ex.Message);
        }
    }

    /// <summary>A stream that arrived corrupt or cut short: a transport failure, so another profile may be asked.</summary>
    private static BedrockException CorruptStream(string profile, string message) =>
        new(BedrockErrorKind.InternalServer, "corruptEventStream", null, profile, message);

    internal static CachePoints CachePointsFor(string profile, ModelRequest request, bool allowed)
    {
        if (!allowed || !request.Settings.PromptCaching)
        {
            return CachePoints.None;
        }

        var points = CachePoints.System | CachePoints.Messages;
        return profile.Contains("amazon.nova", StringComparison.OrdinalIgnoreCase) ? points : points | CachePoints.Tools;
    }

    private HttpRequestMessage CreateRequest(string profile, PooledBufferWriter body)
    {
        var uri = _uris.GetOrAdd(profile, static (profile, endpoint) => new Uri(endpoint, $"/model/{Uri.EscapeDataString(profile)}/converse-stream"), _endpoint);
        var message = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body.Array, 0, body.Length) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(JsonType);
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(EventStreamType));
        _signer.Sign(message, body.WrittenSpan, JsonType, EventStreamType, credentials().GetCredentials(), time.GetUtcNow());
        return message;
    }

    private static async Task<BedrockException> ErrorFromResponseAsync(string profile, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var errorType = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.First() : null;
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var message = AwsErrorBody.Message(text) ?? response.ReasonPhrase ?? "no message";
        errorType ??= AwsErrorBody.Type(text) ?? $"HTTP {status}";
        return new BedrockException(BedrockException.KindOf(errorType, status), errorType.Split(':')[0], status, profile, message);
    }
}

/// <summary>Turns decoded event-stream frames into model stream events; stateful per response.</summary>
internal sealed class ConverseStreamParser(string profile)
{
    private readonly Dictionary<int, ToolBlock> _tools = [];
    private readonly Dictionary<int, ReasoningParts> _reasoning = [];
    private ModelStopReason _stopReason = ModelStopReason.EndTurn;
    private bool _stopped;
    private ModelUsage? _usage;

    public ModelStreamEvent? Parse(in EventFrame frame)
    {
        if (frame.MessageType == "exception")
        {
            var type = frame.ExceptionType ?? "unknown";
            throw new BedrockException(BedrockException.KindOf(type, null), type, null, profile, AwsErrorBody.Message(Encoding.UTF8.GetString(frame.Payload.Span)) ?? "no message");
        }

        if (frame.MessageType == "error")
        {
            var code = frame.ErrorCode ?? "unknown";
            throw new BedrockException(BedrockException.KindOf(code, null), code, null, profile, frame.ErrorMessage ?? "no message");
        }

        switch (frame.EventType)
        {
            case "contentBlockDelta" when TryReadTextDelta(frame.Payload.Span, out var spoken):
                return new TextDelta(spoken);
            case "contentBlockStart" or "contentBlockDelta" or "contentBlockStop" or "messageStop" or "metadata":
                break;
            default:
                return null; // messageStart, and events this client does not use: nothing to read
        }

        using var document = JsonDocument.Parse(frame.Payload);
        var root = document.RootElement;
        switch (frame.EventType)
        {
            case "contentBlockStart"
                when root.TryGetProperty("start", out var start) && start.TryGetProperty("toolUse", out var toolStart):
                _tools[root.GetProperty("contentBlockIndex").GetInt32()] =
                    new ToolBlock(toolStart.GetProperty("toolUseId").GetString()!, toolStart.GetProperty("name").GetString()!);
                return null;
            case "contentBlockDelta" when root.TryGetProperty("delta", out var delta):
                if (delta.TryGetProperty("text", out var text))
                {
                    return new TextDelta(text.GetString() ?? string.Empty);
                }

                if (delta.TryGetProperty("toolUse", out var toolDelta)
                    && _tools.TryGetValue(root.GetProperty("contentBlockIndex").GetInt32(), out var block))
                {
                    block.Input.Append(toolDelta.GetProperty("input").GetString());
                }

                if (delta.TryGetProperty("reasoningContent", out var reasoningDelta))
                {
                    AddReasoning(root.GetProperty("contentBlockIndex").GetInt32(), reasoningDelta);
                }

                return null;
            case "contentBlockStop":
                var index = root.GetProperty("contentBlockIndex").GetInt32();
                if (_reasoning.Remove(index, out var thought))
                {
                    return new ReasoningProduced(thought.Complete());
                }

                if (_tools.Remove(index, out var finished))
                {
                    return new ToolUseRequested(finished.Id, finished.Name, CompleteInput(finished));
                }

                return null;
            case "messageStop":
                _stopReason = StopReason(root.TryGetProperty("stopReason", out var reason) ? reason.GetString() : null);
                _stopped = true;
                return null;
            case "metadata":
                _usage = Usage(root);
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// The frame of nearly every token, <c>{"contentBlockIndex":0,"delta":{"text":"…"},"p":"…"}</c>, read in place for its
    /// text (a JSON document per token was 2.5 % of the service's CPU under load). Any other delta (tool input,
    /// reasoning) is left to the general path. The frame's CRCs have been checked; what follows the delta is not read.
    /// </summary>
    private static bool TryReadTextDelta(ReadOnlySpan<byte> payload, [NotNullWhen(true)] out string? text)
    {
        text = null;
        var reader = new Utf8JsonReader(payload);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("delta"u8))
            {
                reader.Skip();
                continue;
            }

            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("text"u8) || !reader.Read() || reader.TokenType != JsonTokenType.String)
                {
                    return false;
                }

                text = reader.GetString();
            }

            return text is not null;
        }

        return false;
    }

    /// <summary>The end of the message; a stream that ends before its messageStop was cut off, which is an error.</summary>
    public ModelCompleted Complete() => _stopped
        ? new(_stopReason, _usage) { Profile = profile }
        : throw new BedrockException(BedrockErrorKind.ModelStreamError, "streamTruncated", null, profile, "the stream ended before messageStop");

    private string CompleteInput(ToolBlock block)
    {
        var input = block.Input.Length == 0 ? "{}" : block.Input.ToString();
        try
        {
            using var parsed = JsonDocument.Parse(input);
            return input;
        }
        catch (JsonException ex)
        {
            throw new BedrockException(BedrockErrorKind.ModelStreamError, "invalidToolInput", null, profile, $"tool '{block.Name}' input is not valid JSON: {ex.Message}");
        }
    }

    private static ModelStopReason StopReason(string? value) => value switch
    {
        "end_turn" => ModelStopReason.EndTurn,
        "tool_use" => ModelStopReason.ToolUse,
        "max_tokens" => ModelStopReason.MaxTokens,
        "stop_sequence" => ModelStopReason.StopSequence,
        "guardrail_intervened" => ModelStopReason.GuardrailIntervened,
        "content_filtered" => ModelStopReason.ContentFiltered,
        "model_context_window_exceeded" => ModelStopReason.ModelContextWindowExceeded,
        "malformed_model_output" => ModelStopReason.MalformedModelOutput,
        "malformed_tool_use" => ModelStopReason.MalformedToolUse,
        _ => ModelStopReason.Other,
    };

    private static ModelUsage? Usage(JsonElement root)
    {
        if (!root.TryGetProperty("usage", out var usage))
        {
            return null;
        }

        long? latency = root.TryGetProperty("metrics", out var metrics) && metrics.TryGetProperty("latencyMs", out var ms) ? ms.GetInt64() : null;
        static int Tokens(JsonElement usage, string name) => usage.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : 0;
        return new ModelUsage(
            Tokens(usage, "inputTokens"),
            Tokens(usage, "outputTokens"),
            latency,
            Tokens(usage, "cacheReadInputTokens"),
            Tokens(usage, "cacheWriteInputTokens"));
    }

    /// <summary>A reasoning block's deltas: text, then its signature; or redacted content (base64), gathered as sent.</summary>
    private void AddReasoning(int index, JsonElement delta)
    {
        if (!_reasoning.TryGetValue(index, out var parts))
        {
            _reasoning[index] = parts = new ReasoningParts();
        }

        if (delta.TryGetProperty("text", out var text))
        {
            parts.Text.Append(text.GetString());
        }

        if (delta.TryGetProperty("signature", out var signature))
        {
            parts.Signature = signature.GetString();
        }

        if (delta.TryGetProperty("redactedContent", out var redacted))
        {
            parts.Redacted.Append(redacted.GetString());
        }
    }

    private sealed class ReasoningParts
    {
        public StringBuilder Text { get; } = new();

        public StringBuilder Redacted { get; } = new();

        public string? Signature { get; set; }

        public ReasoningBlock Complete() => Redacted.Length > 0
            ? new ReasoningBlock(null, null, Redacted.ToString())
            : new ReasoningBlock(Text.ToString(), Signature);
    }

    private sealed class ToolBlock(string id, string name)
    {
        public string Id { get; } = id;

        public string Name { get; } = name;

        public StringBuilder Input { get; } = new();
    }
}
