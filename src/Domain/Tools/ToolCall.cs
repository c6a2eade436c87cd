using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Domain.Tools;

/// <summary>A record of one tool run during a call.</summary>
public sealed record ToolCall
{
    public ToolCall(
        string callSid,
        string toolUseId,
        string name,
        string inputJson,
        ToolResultStatus status,
        string result,
        DateTimeOffset startedAt,
        TimeSpan duration)
    {
        if (string.IsNullOrWhiteSpace(callSid) || string.IsNullOrWhiteSpace(toolUseId) || string.IsNullOrWhiteSpace(name))
        {
            throw new DomainException("A tool call needs a call, a tool use id and a name.");
        }

        if (duration < TimeSpan.Zero)
        {
            throw new DomainException("A tool call cannot take negative time.");
        }

        CallSid = callSid;
        ToolUseId = toolUseId;
        Name = name;
        InputJson = inputJson;
        Status = status;
        Result = result;
        StartedAt = startedAt;
        Duration = duration;
    }

    public string CallSid { get; }

    public string ToolUseId { get; }

    public string Name { get; }

    public string InputJson { get; }

    public ToolResultStatus Status { get; }

    public string Result { get; }

    public DateTimeOffset StartedAt { get; }

    public TimeSpan Duration { get; }
}
