using FluentValidation;
using Mediator;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Relay.HandleDtmf;

/// <summary>The caller pressed a key. The use case's digit map decides; unmapped keys go to the model.</summary>
public sealed record HandleDtmf(ActiveCall Call, string Digit) : ICommand;

internal sealed class HandleDtmfValidator : AbstractValidator<HandleDtmf>
{
    public HandleDtmfValidator()
    {
        RuleFor(c => c.Call).NotNull();
        RuleFor(c => c.Digit).NotEmpty().Length(1).Matches("^[0-9*#A-Da-d]$").WithMessage("'{PropertyValue}' is not a DTMF digit.");
    }
}

internal sealed class HandleDtmfHandler(ITurnRunner runner) : ICommandHandler<HandleDtmf>
{
    public ValueTask<Unit> Handle(HandleDtmf command, CancellationToken cancellationToken)
    {
        var call = command.Call;
        call.UseCase.DtmfMap.TryGetValue(command.Digit, out var action);
        var pressed = $"(The caller pressed {command.Digit} on the keypad.)";
        switch (action)
        {
            case DtmfReply reply:
            {
                var (turn, previous) = call.BeginTurn(pressed);
                runner.Start(call, turn, previous, fixedReply: reply.Text);
                break;
            }

            case DtmfPrompt prompt:
            {
                var (turn, previous) = call.BeginTurn(prompt.Text);
                runner.Start(call, turn, previous);
                break;
            }

            default:
            {
                var (turn, previous) = call.BeginTurn(pressed);
                runner.Start(call, turn, previous);
                break;
            }
        }

        return ValueTask.FromResult(Unit.Value);
    }
}
