using FluentValidation;
using Mediator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Conversations;
using VoiceAgent.Application.Tools.InvokeTool;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Relay.HandleDtmf;

/// <summary>
/// The caller pressed a key. Keys are gathered until no key follows within the inter-digit timeout (or '#');
/// the use case's digit map then decides (reply, prompt or tool); unmapped sequences go to the model.
/// </summary>
public sealed record HandleDtmf(ActiveCall Call, string Digit) : ICommand;

internal sealed class HandleDtmfValidator : AbstractValidator<HandleDtmf>
{
    public HandleDtmfValidator()
    {
        RuleFor(c => c.Call).NotNull();
        RuleFor(c => c.Digit).NotEmpty().Length(1).Matches("^[0-9*#A-Da-d]$").WithMessage("'{PropertyValue}' is not a DTMF digit.");
    }
}

internal sealed partial class HandleDtmfHandler(
    ITurnRunner runner,
    DeferredSender sender,
    TimeProvider timeProvider,
    IOptions<ConversationOptions> options,
    ILogger<HandleDtmfHandler> logger) : ICommandHandler<HandleDtmf>
{
    public ValueTask<Unit> Handle(HandleDtmf command, CancellationToken cancellationToken)
    {
        var call = command.Call;
        call.CallerHeard();
        var complete = call.AddDigit(command.Digit, timeProvider, options.Value.DtmfInterDigitTimeout, () => FlushAfterTimeout(call));
        if (complete is not null)
        {
            Act(call, complete);
        }

        return ValueTask.FromResult(Unit.Value);
    }

    private void FlushAfterTimeout(ActiveCall call)
    {
        try
        {
            if (call.TakeDigits() is { } digits)
            {
                Act(call, digits);
            }
        }
        catch (Exception ex)
        {
            Log.FlushFailed(logger, ex, call.LogId);
        }
    }

    private void Act(ActiveCall call, string digits)
    {
        var map = call.UseCase.DtmfMap;
        if (!map.TryGetValue(digits, out var action) && digits.Length > 1 && digits.EndsWith('#'))
        {
            map.TryGetValue(digits[..^1], out action);
        }

        var pressed = $"(The caller pressed {digits} on the keypad.)";
        switch (action)
        {
            case DtmfReply reply:
                Start(call, pressed, reply.Text);
                break;
            case DtmfPrompt prompt:
                Start(call, prompt.Text, null);
                break;
            case DtmfInvokeTool tool:
                _ = InvokeAsync(call, pressed, tool);
                break;
            default:
                Start(call, pressed, null);
                break;
        }
    }

    private void Start(ActiveCall call, string input, string? fixedReply)
    {
        var (turn, previous) = call.BeginTurn(input);
        runner.Start(call, turn, previous, fixedReply);
    }

    private async Task InvokeAsync(ActiveCall call, string pressed, DtmfInvokeTool action)
    {
        try
        {
            var use = new ToolUseBlock("dtmf-" + Guid.NewGuid().ToString("N")[..12], action.ToolName, action.InputJson);
            var invocation = await sender.Value.Send(new InvokeTool(call, use), call.SessionToken).ConfigureAwait(false);
            if (invocation.EndsTurn)
            {
                return;
            }

            var reply = invocation.Result.Status == ToolResultStatus.Success ? action.Reply : call.UseCase.ApologyLine;
            if (reply is not null)
            {
                Start(call, pressed, reply);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.FlushFailed(logger, ex, call.LogId);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "Call {CallSid}: acting on key presses failed")]
        public static partial void FlushFailed(ILogger logger, Exception exception, string callSid);
    }
}
