using FluentValidation;
using Mediator;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Conversations;

namespace VoiceAgent.Application.Relay.Interrupted;

/// <summary>
/// The caller barged in. The running answer stops at once and the history keeps only what the caller heard
/// (<paramref name="UtteranceUntilInterrupt"/>), whether the answer was still streaming or already complete.
/// </summary>
public sealed record Interrupted(string CallSid, string? UtteranceUntilInterrupt, long? DurationUntilInterruptMs) : ICommand;

internal sealed class InterruptedValidator : AbstractValidator<Interrupted>
{
    public InterruptedValidator()
    {
        RuleFor(c => c.CallSid).MustBeCallSid();
        RuleFor(c => c.UtteranceUntilInterrupt).MaximumLength(32_000);
        RuleFor(c => c.DurationUntilInterruptMs).GreaterThanOrEqualTo(0);
    }
}

internal sealed class InterruptedHandler(CallInputs inputs) : ICommandHandler<Interrupted>
{
    public ValueTask<Unit> Handle(Interrupted command, CancellationToken cancellationToken)
    {
        inputs.Post(command.CallSid, new CallInput.Interrupt(command.UtteranceUntilInterrupt ?? string.Empty, command.DurationUntilInterruptMs ?? 0));
        return ValueTask.FromResult(Unit.Value);
    }
}
