using FluentValidation;
using Mediator;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Conversations;

namespace VoiceAgent.Application.Relay.PromptReceived;

/// <summary>
/// The caller said something. A final prompt starts a turn (a running turn is superseded); a partial one
/// (<paramref name="Last"/> false, the utterance so far) only replaces the call's preview. Text past
/// Conversation:MaxUtteranceChars is cut, never refused.
/// <paramref name="ReceivedAt"/>: when the prompt arrived (TimeProvider timestamp), where time-to-first-token starts.
/// </summary>
public sealed record PromptReceived(string CallSid, string VoicePrompt, bool Last, string? Lang, long ReceivedAt = 0) : ICommand;

internal sealed class PromptReceivedValidator : AbstractValidator<PromptReceived>
{
    public PromptReceivedValidator()
    {
        RuleFor(c => c.CallSid).MustBeCallSid();
        RuleFor(c => c.VoicePrompt).NotNull();
        RuleFor(c => c.Lang).MaximumLength(35);
    }
}

internal sealed class PromptReceivedHandler(CallInputs inputs) : ICommandHandler<PromptReceived>
{
    public ValueTask<Unit> Handle(PromptReceived command, CancellationToken cancellationToken)
    {
        inputs.Post(command.CallSid, new CallInput.Prompt(command.VoicePrompt, command.Last, command.ReceivedAt));
        return ValueTask.FromResult(Unit.Value);
    }
}
