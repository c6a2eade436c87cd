using FluentValidation;
using Mediator;
using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Conversations;
using VoiceAgent.Application.Persistence;

namespace VoiceAgent.Application.Relay.HandleInterrupt;

/// <summary>
/// The caller barged in. The running answer stops at once and the history keeps only what the caller heard
/// (<paramref name="UtteranceUntilInterrupt"/>), whether the answer was still streaming or already complete.
/// </summary>
public sealed record HandleInterrupt(ActiveCall Call, string? UtteranceUntilInterrupt, long? DurationUntilInterruptMs) : ICommand;

internal sealed class HandleInterruptValidator : AbstractValidator<HandleInterrupt>
{
    public HandleInterruptValidator()
    {
        RuleFor(c => c.Call).NotNull();
        RuleFor(c => c.UtteranceUntilInterrupt).MaximumLength(32_000);
        RuleFor(c => c.DurationUntilInterruptMs).GreaterThanOrEqualTo(0);
    }
}

internal sealed partial class HandleInterruptHandler(ICallJournal journal, ConversationTelemetry telemetry, ILogger<HandleInterruptHandler> logger)
    : ICommandHandler<HandleInterrupt>
{
    public ValueTask<Unit> Handle(HandleInterrupt command, CancellationToken cancellationToken)
    {
        var call = command.Call;
        call.CallerHeard();
        var heard = command.UtteranceUntilInterrupt ?? string.Empty;
        telemetry.BargeIn(call.UseCase.Id);
        lock (call.Gate)
        {
            var turn = call.CurrentTurn;
            if (turn is { Completed: false })
            {
                // The turn records what was heard when it winds down.
                turn.Heard = heard;
                turn.Cancel();
                Log.InterruptedRunning(logger, call.LogId, turn.Id, command.DurationUntilInterruptMs ?? 0);
            }
            else
            {
                journal.SaveTruncation(call, call.Conversation.TruncateLastAssistant(heard));
                Log.InterruptedSpeaking(logger, call.LogId, command.DurationUntilInterruptMs ?? 0);
            }
        }

        return ValueTask.FromResult(Unit.Value);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Call {CallSid} barge-in during turn {TurnId} after {DurationMs} ms of speech")]
        public static partial void InterruptedRunning(ILogger logger, string callSid, long turnId, long durationMs);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Call {CallSid} barge-in after the answer was complete, {DurationMs} ms into speech")]
        public static partial void InterruptedSpeaking(ILogger logger, string callSid, long durationMs);
    }
}
