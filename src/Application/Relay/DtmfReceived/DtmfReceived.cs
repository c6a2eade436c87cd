using FluentValidation;
using Mediator;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Conversations;

namespace VoiceAgent.Application.Relay.DtmfReceived;

/// <summary>
/// The caller pressed a key. Keys are gathered until no key follows within the inter-digit timeout (or '#');
/// the use case's digit map then decides (reply, prompt or tool); unmapped sequences go to the model.
/// </summary>
public sealed record DtmfReceived(string CallSid, string Digit) : ICommand;

internal sealed class DtmfReceivedValidator : AbstractValidator<DtmfReceived>
{
    public DtmfReceivedValidator()
    {
        RuleFor(c => c.CallSid).MustBeCallSid();
        RuleFor(c => c.Digit).NotEmpty().Length(1).Matches("^[0-9*#A-Da-d]$").WithMessage("'{PropertyValue}' is not a DTMF digit.");
    }
}

internal sealed class DtmfReceivedHandler(CallInputs inputs) : ICommandHandler<DtmfReceived>
{
    public ValueTask<Unit> Handle(DtmfReceived command, CancellationToken cancellationToken)
    {
        inputs.Post(command.CallSid, new CallInput.Digit(command.Digit));
        return ValueTask.FromResult(Unit.Value);
    }
}
