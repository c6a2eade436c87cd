using FluentValidation;
using Mediator;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Conversations;

namespace VoiceAgent.Application.Relay.HandlePrompt;

/// <summary>
/// The caller said something. A final prompt starts a turn and returns at once (a running turn is superseded); a
/// partial one (<paramref name="Last"/> false, the utterance so far) only replaces the call's preview. Text past
/// Conversation:MaxUtteranceChars is cut, never refused.
/// <paramref name="ReceivedAt"/>: when the prompt arrived (TimeProvider timestamp), where time-to-first-token starts.
/// </summary>
public sealed record HandlePrompt(ActiveCall Call, string VoicePrompt, bool Last, string? Lang, long ReceivedAt = 0) : ICommand;

internal sealed class HandlePromptValidator : AbstractValidator<HandlePrompt>
{
    public HandlePromptValidator()
    {
        RuleFor(c => c.Call).NotNull();
        RuleFor(c => c.VoicePrompt).NotNull();
        RuleFor(c => c.Lang).MaximumLength(35);
    }
}

internal sealed class HandlePromptHandler(ITurnRunner runner) : ICommandHandler<HandlePrompt>
{
    public ValueTask<Unit> Handle(HandlePrompt command, CancellationToken cancellationToken)
    {
        command.Call.CallerHeard();
        var utterance = command.Call.TakePrompt(command.VoicePrompt, command.Last);
        if (string.IsNullOrEmpty(utterance))
        {
            return ValueTask.FromResult(Unit.Value);
        }

        var (turn, previous) = command.Call.BeginTurn(utterance);
        turn.StartedAt = command.ReceivedAt;
        runner.Start(command.Call, turn, previous);
        return ValueTask.FromResult(Unit.Value);
    }
}
