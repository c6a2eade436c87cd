using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Abstractions;

/// <summary>
/// A streaming chat model. Implementations yield text as it arrives (never buffered per block), report tool
/// uses once their input is complete, and stop promptly when the cancellation token fires.
/// </summary>
public interface ILanguageModel
{
    IAsyncEnumerable<ModelStreamEvent> StreamAsync(ModelRequest request, CancellationToken cancellationToken);
}

/// <summary>One model call: the rendered system prompt, the history so far, the tools on offer.</summary>
public sealed record ModelRequest(
    string SystemPrompt,
    IReadOnlyList<ConversationMessage> Messages,
    IReadOnlyList<ToolSpec> Tools,
    ModelSettings Settings)
{
    /// <summary>
    /// How much of <see cref="SystemPrompt"/> is the same for every call of the use case (what a model may cache);
    /// the rest is this call's (caller, date). Null: all of it.
    /// </summary>
    public int? StaticPromptLength { get; init; }

    /// <summary>Who the request is for (use case, a hash of the CallSid), for cost attribution in the provider's logs.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>The call's store of encoded messages, for a provider that encodes each message once per call; null: none.</summary>
    public MessageEncodings? Encodings { get; init; }
}

public abstract record ModelStreamEvent;

/// <summary>A piece of answer text, to be spoken as soon as it arrives.</summary>
public sealed record TextDelta(string Text) : ModelStreamEvent;

/// <summary>The model asks for a tool; <paramref name="InputJson"/> is complete, valid JSON.</summary>
public sealed record ToolUseRequested(string ToolUseId, string Name, string InputJson) : ModelStreamEvent;

/// <summary>A complete reasoning block (never spoken; kept with the tool uses it led to).</summary>
public sealed record ReasoningProduced(ReasoningBlock Block) : ModelStreamEvent;

/// <summary>The model finished this message.</summary>
public sealed record ModelCompleted(ModelStopReason StopReason, ModelUsage? Usage = null) : ModelStreamEvent
{
    /// <summary>The model or inference profile that answered, when the provider says (for the price of the usage).</summary>
    public string? Profile { get; init; }

    /// <summary>How many of the request's profiles were passed over (throttled, failing) before <see cref="Profile"/> answered.</summary>
    public int Fallbacks { get; init; }
}

public enum ModelStopReason
{
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    GuardrailIntervened,
    ContentFiltered,
    ModelContextWindowExceeded,
    MalformedModelOutput,
    MalformedToolUse,
    Other,
}

/// <summary>
/// Tokens of one model call: <paramref name="InputTokens"/> processed anew, <paramref name="CacheReadInputTokens"/>
/// read from the prompt cache, <paramref name="CacheWriteInputTokens"/> written to it.
/// </summary>
public sealed record ModelUsage(int InputTokens, int OutputTokens, long? LatencyMs = null, int CacheReadInputTokens = 0, int CacheWriteInputTokens = 0);

/// <summary>The model could not be reached or refused the request; the caller hears the apology line.</summary>
public class LanguageModelUnavailableException : Exception
{
    public LanguageModelUnavailableException()
    {
    }

    public LanguageModelUnavailableException(string message)
        : base(message)
    {
    }

    public LanguageModelUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
