namespace VoiceAgent.Domain.Conversations;

/// <summary>One block of a conversation message, shaped like the Bedrock Converse content union.</summary>
public abstract record ContentBlock;

/// <summary>Spoken or typed text.</summary>
public sealed record TextBlock(string Text) : ContentBlock;

/// <summary>The model asks for a tool to run. <paramref name="InputJson"/> is the raw JSON object the model produced.</summary>
public sealed record ToolUseBlock(string ToolUseId, string Name, string InputJson) : ContentBlock;

/// <summary>
/// The model's reasoning before its answer (Bedrock's reasoningContent): its text with the signature that proves it
/// unaltered, or, when the provider redacted it, the opaque <paramref name="RedactedContent"/> (base64). Never spoken;
/// kept in the assistant message with the tool uses it led to and sent back unchanged, as the models require.
/// </summary>
public sealed record ReasoningBlock(string? Text, string? Signature, string? RedactedContent = null) : ContentBlock;

/// <summary>The result of a tool run, answering the <see cref="ToolUseBlock"/> with the same id.</summary>
public sealed record ToolResultBlock(string ToolUseId, string Content, ToolResultStatus Status) : ContentBlock;

public enum ToolResultStatus
{
    Success,
    Error,
}
