using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Tools;

namespace VoiceAgent.Application.Tools;

/// <summary>The result for the model, and whether the tool ended the conversation (no further model round).</summary>
public sealed record ToolInvocation(ToolResultBlock Result, bool EndsTurn)
{
    /// <summary>How long the tool ran.</summary>
    public TimeSpan Duration { get; init; }
}

/// <summary>
/// Runs one tool use the model (or a key press) asked for, checks it against the use case, and records it.
/// Never throws for a tool's fault: that becomes an error result. Read-only tools stop with the turn
/// (<c>turnToken</c>); tools with side effects run on to the end of the session. Each is stopped after
/// Conversation:ToolTimeout on the injected clock.
/// </summary>
internal sealed partial class ToolInvoker(
    IToolCatalog tools,
    ICallJournal journal,
    TimeProvider timeProvider,
    ConversationTelemetry telemetry,
    IOptions<ConversationOptions> options,
    ILogger<ToolInvoker> logger)
{
    public async Task<ToolInvocation> InvokeAsync(ActiveCall call, ToolUseBlock use, CancellationToken turnToken)
    {
        using var activity = ConversationTelemetry.Source.StartActivity("tool " + use.Name);
        activity?.SetTag("gen_ai.tool.name", use.Name);
        activity?.SetTag("gen_ai.tool.call.id", use.ToolUseId);
        var started = timeProvider.GetUtcNow();
        var stopwatch = Stopwatch.StartNew();
        var outcome = await RunAsync(call, use, turnToken).ConfigureAwait(false);
        var duration = stopwatch.Elapsed;

        journal.ToolCallRecorded(new ToolCall(call.CallSid, use.ToolUseId, use.Name, use.InputJson, outcome.Status, outcome.Content, started, duration));
        activity?.SetTag("voiceagent.tool.status", outcome.Status.ToString());
        telemetry.ToolRan(use.Name, outcome.Status.ToString(), duration);
        Log.ToolRan(logger, call.LogId, use.Name, outcome.Status, duration.TotalMilliseconds);
        return new ToolInvocation(new ToolResultBlock(use.ToolUseId, outcome.Content, outcome.Status), outcome.EndsTurn) { Duration = duration };
    }

    private async ValueTask<ToolOutcome> RunAsync(ActiveCall call, ToolUseBlock use, CancellationToken turnToken)
    {
        if (!call.UseCase.AllowsTool(use.Name))
        {
            Log.ToolRefused(logger, call.LogId, use.Name);
            return ToolOutcome.Error($"Tool '{use.Name}' is not available in this conversation.");
        }

        if (!tools.TryGet(use.Name, out var tool))
        {
            Log.ToolMissing(logger, call.LogId, use.Name);
            return ToolOutcome.Error($"Tool '{use.Name}' is not available right now.");
        }

        JsonDocument input;
        try
        {
            input = JsonDocument.Parse(string.IsNullOrWhiteSpace(use.InputJson) ? "{}" : use.InputJson);
        }
        catch (JsonException)
        {
            return ToolOutcome.Error($"The input for '{use.Name}' was not valid JSON.");
        }

        using (input)
        {
            // Read-only tools stop with the turn; tools with side effects finish even if the caller barges in.
            var lifetime = tool.IsIdempotent ? turnToken : call.SessionToken;
            using var timeout = new CancellationTokenSource(options.Value.ToolTimeout, timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(lifetime, timeout.Token);
            try
            {
                return await tool.InvokeAsync(call, input.RootElement, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (turnToken.IsCancellationRequested && tool.IsIdempotent)
            {
                throw;
            }
            catch (OperationCanceledException) when (!lifetime.IsCancellationRequested)
            {
                Log.ToolTimedOut(logger, call.LogId, use.Name, options.Value.ToolTimeout);
                return ToolOutcome.Error($"Tool '{use.Name}' took too long and was stopped.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.ToolThrew(logger, ex, call.LogId, use.Name);
                return ToolOutcome.Error($"Tool '{use.Name}' failed: {ex.Message}");
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Call {CallSid} tool {Tool} finished {Status} in {ElapsedMs} ms")]
        public static partial void ToolRan(ILogger logger, string callSid, string tool, ToolResultStatus status, double elapsedMs);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Call {CallSid}: the model asked for tool {Tool}, which this use case does not allow")]
        public static partial void ToolRefused(ILogger logger, string callSid, string tool);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "Call {CallSid}: tool {Tool} is allowed by the use case but no handler is registered")]
        public static partial void ToolMissing(ILogger logger, string callSid, string tool);

        [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Call {CallSid}: tool {Tool} timed out after {Timeout}")]
        public static partial void ToolTimedOut(ILogger logger, string callSid, string tool, TimeSpan timeout);

        [LoggerMessage(EventId = 4005, Level = LogLevel.Error, Message = "Call {CallSid}: tool {Tool} threw")]
        public static partial void ToolThrew(ILogger logger, Exception exception, string callSid, string tool);
    }
}
