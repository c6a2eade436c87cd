using FluentValidation;
using Mediator;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Conversations;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Relay.RelayEventReceived;

/// <summary>
/// Twilio sent an <c>info</c> or <c>error</c> frame: recorded with the turn it belongs to (the running one, or the
/// next when none runs), redacted and cut to <see cref="MaxChars"/>.
/// </summary>
public sealed record RelayEventReceived(string CallSid, string Kind, string Text) : ICommand
{
    public const int MaxChars = 300;
}

internal sealed class RelayEventReceivedValidator : AbstractValidator<RelayEventReceived>
{
    public RelayEventReceivedValidator()
    {
        RuleFor(c => c.CallSid).MustBeCallSid();
        RuleFor(c => c.Kind).Must(k => k is "info" or "error").WithMessage("A relay event is an info or an error frame.");
        RuleFor(c => c.Text).NotNull();
    }
}

internal sealed class RelayEventReceivedHandler(CallInputs inputs) : ICommandHandler<RelayEventReceived>
{
    public ValueTask<Unit> Handle(RelayEventReceived command, CancellationToken cancellationToken)
    {
        var text = PiiRedactor.BuiltIn.Redact(command.Text.Trim());
        if (text.Length > RelayEventReceived.MaxChars)
        {
            text = text[..RelayEventReceived.MaxChars] + "…";
        }

        inputs.Post(command.CallSid, new CallInput.RelayEvent(command.Kind + ": " + text));
        return ValueTask.FromResult(Unit.Value);
    }
}
