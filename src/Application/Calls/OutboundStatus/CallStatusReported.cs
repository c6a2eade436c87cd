using FluentValidation;
using Mediator;
using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Common;
using Microsoft.Extensions.Options;

namespace VoiceAgent.Application.Calls.OutboundStatus;

/// <summary>
/// Twilio's status callback for a call we placed. A call that was never answered (busy, no-answer, failed, canceled)
/// never reached /twiml: it is stored as a failed call whose error code is that status. Other statuses are logged.
/// </summary>
public sealed record CallStatusReported(string CallSid, string From, string To, string Status) : ICommand;

internal sealed class CallStatusReportedValidator : AbstractValidator<CallStatusReported>
{
    public CallStatusReportedValidator()
    {
        RuleFor(c => c.CallSid).MustBeCallSid();
        RuleFor(c => c.Status).NotEmpty().MaximumLength(32);
        RuleFor(c => c.From).MaximumLength(256);
        RuleFor(c => c.To).MaximumLength(256);
    }
}

internal sealed partial class CallStatusReportedHandler(
    ICallRepository calls,
    ICallJournal journal,
    TimeProvider timeProvider,
    IOptions<ConversationOptions> options,
    ILogger<CallStatusReportedHandler> logger) : ICommandHandler<CallStatusReported>
{
    public async ValueTask<Unit> Handle(CallStatusReported command, CancellationToken cancellationToken)
    {
        Log.Status(logger, LogIds.Call(command.CallSid), command.Status);
        if (command.Status is not ("busy" or "no-answer" or "failed" or "canceled"))
        {
            return Unit.Value;
        }

        if (await calls.GetAsync(command.CallSid, cancellationToken).ConfigureAwait(false) is not null)
        {
            return Unit.Value;
        }

        var now = timeProvider.GetUtcNow();
        var call = Call.Create(command.CallSid, command.From, command.To, options.Value.DefaultUseCaseId, now);
        call.RecordSession(null, null, command.Status);
        call.End(CallStatus.Failed, null, now);
        journal.CallCreated(call);
        return Unit.Value;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Outbound call {CallSid}: {Status}")]
        public static partial void Status(ILogger logger, string callSid, string status);
    }
}
