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
    ModelSettings Settings);

public abstract record ModelStreamEvent;

/// <summary>A piece of answer text, to be spoken as soon as it arrives.</summary>
public sealed record TextDelta(string Text) : ModelStreamEvent;

/// <summary>The model asks for a tool; <paramref name="InputJson"/> is complete, valid JSON.</summary>
public sealed record ToolUseRequested(string ToolUseId, string Name, string InputJson) : ModelStreamEvent;

/// <summary>The model finished this message.</summary>
public sealed record ModelCompleted(ModelStopReason StopReason, ModelUsage? Usage = null) : ModelStreamEvent;

public enum ModelStopReason
{
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    GuardrailIntervened,
    ContentFiltered,
    Other,
}

public sealed record ModelUsage(int InputTokens, int OutputTokens, long? LatencyMs = null);

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
