using FluentValidation;
using Mediator;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Conversations;

namespace VoiceAgent.Application.Relay.HandlePrompt;

/// <summary>
/// The caller said something. Starts a turn and returns at once; a running turn is superseded.
/// <paramref name="ReceivedAt"/>: when the prompt arrived (TimeProvider timestamp), where time-to-first-token starts.
/// </summary>
public sealed record HandlePrompt(ActiveCall Call, string VoicePrompt, bool Last, string? Lang, long ReceivedAt = 0) : ICommand;

internal sealed class HandlePromptValidator : AbstractValidator<HandlePrompt>
{
    public const int MaxPromptLength = 8_000;

    public HandlePromptValidator()
    {
        RuleFor(c => c.Call).NotNull();
        RuleFor(c => c.VoicePrompt).NotNull().MaximumLength(MaxPromptLength);
        RuleFor(c => c.Lang).MaximumLength(35);
    }
}

internal sealed class HandlePromptHandler(ITurnRunner runner) : ICommandHandler<HandlePrompt>
{
    public ValueTask<Unit> Handle(HandlePrompt command, CancellationToken cancellationToken)
    {
        command.Call.CallerHeard();
        var utterance = command.Call.AccumulatePrompt(command.VoicePrompt, command.Last);
        if (string.IsNullOrWhiteSpace(utterance))
        {
            return ValueTask.FromResult(Unit.Value);
        }

        var (turn, previous) = command.Call.BeginTurn(utterance.Trim());
        turn.StartedAt = command.ReceivedAt;
        runner.Start(command.Call, turn, previous);
        return ValueTask.FromResult(Unit.Value);
    }
}
