using System.Text.Json;
using VoiceAgent.Application.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Abstractions;

/// <summary>A tool the model can call. Registered in DI; offered to the model when a use case lists its name.</summary>
public interface ITool
{
    /// <summary>Name, description and input schema, as offered to the model.</summary>
    ToolSpec Spec { get; }

    /// <summary>
    /// Read-only tools are cancelled when the caller barges in; tools with side effects (placing an order) run to
    /// completion so their result is recorded.
    /// </summary>
    bool IsIdempotent { get; }

    ValueTask<ToolOutcome> InvokeAsync(ActiveCall call, JsonElement input, CancellationToken cancellationToken);
}

/// <summary>What a tool returns to the model.</summary>
public sealed record ToolOutcome(string Content, ToolResultStatus Status = ToolResultStatus.Success)
{
    /// <summary>The call is over or handed off (end call, live agent): the model is not asked again.</summary>
    public bool EndsTurn { get; init; }

    public static ToolOutcome Error(string message) => new(message, ToolResultStatus.Error);
}
