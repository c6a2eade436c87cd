using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Tools;

namespace VoiceAgent.Application.Conversations;

/// <summary>What the call loops of this instance share.</summary>
internal sealed class CallLoopServices(
    ModelRound rounds,
    ToolRound tools,
    ToolInvoker invoker,
    ICallJournal journal,
    TimeProvider time,
    ConversationTelemetry telemetry,
    IOptions<ConversationOptions> options,
    ILogger<CallLoop> logger)
{
    public ModelRound Rounds { get; } = rounds;

    public ToolRound Tools { get; } = tools;

    public ToolInvoker Invoker { get; } = invoker;

    public ICallJournal Journal { get; } = journal;

    public TimeProvider Time { get; } = time;

    public ConversationTelemetry Telemetry { get; } = telemetry;

    public ConversationOptions Options => options.Value;

    public ILogger Logger { get; } = logger;
}
