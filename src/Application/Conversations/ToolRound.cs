using Microsoft.Extensions.Options;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Tools;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// The tool uses of one model round, off the call's loop: run in parallel, with a filler line for the caller when
/// they are slow. Every use gets a result, even when the caller interrupts: read-only tools that were cancelled
/// answer with an error, tools with side effects run to completion and keep their result.
/// </summary>
internal sealed class ToolRound(ToolInvoker invoker, TimeProvider timeProvider, IOptions<ConversationOptions> options)
{
    /// <summary>The result of a tool use the caller's barge-in stopped (or that never ran because of it).</summary>
    internal const string CancelledResult = "Not completed: the caller interrupted before this tool finished.";

    public async Task<(ToolResultBlock[] Results, bool EndsTurn)> RunAsync(ActiveCall call, TurnHandle turn, IReadOnlyList<ContentBlock> toolUses)
    {
        var tasks = new Task<ToolInvocation>[toolUses.Count];
        for (var i = 0; i < toolUses.Count; i++)
        {
            tasks[i] = invoker.InvokeAsync(call, (ToolUseBlock)toolUses[i], turn.Token);
        }

        await FillWhileWaitingAsync(call, turn, Task.WhenAll(tasks)).ConfigureAwait(false);
        var results = new ToolResultBlock[tasks.Length];
        var endsTurn = false;
        for (var i = 0; i < tasks.Length; i++)
        {
            try
            {
                var invocation = await tasks[i].ConfigureAwait(false);
                turn.Clock.ToolRan(invocation.Duration);
                results[i] = invocation.Result;
                endsTurn |= invocation.EndsTurn;
            }
            catch (OperationCanceledException)
            {
                results[i] = new ToolResultBlock(((ToolUseBlock)toolUses[i]).ToolUseId, CancelledResult, ToolResultStatus.Error);
            }
        }

        return (results, endsTurn);
    }

    /// <summary>When the tools are slow, the caller hears a short filler line, once per turn.</summary>
    private async Task FillWhileWaitingAsync(ActiveCall call, TurnHandle turn, Task tools)
    {
        var after = options.Value.FillerAfter;
        if (tools.IsCompleted || after <= TimeSpan.Zero || turn.FillerSpoken)
        {
            return;
        }

        var delay = Task.Delay(after, timeProvider, turn.Token);
        if (await Task.WhenAny(tools, delay).ConfigureAwait(false) != delay || !delay.IsCompletedSuccessfully || tools.IsCompleted)
        {
            return;
        }

        turn.FillerSpoken = true;
        turn.StartStretch();
        try
        {
            await turn.SayAsync(call.Output, call.NextFillerLine() + " ", last: false).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Interrupted while the filler went out: the tools' results are still wanted.
        }
    }
}
