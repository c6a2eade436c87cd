using FluentValidation;
using Mediator;
using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Calls.AnswerCall;

/// <summary>Twilio's incoming-call webhook: decide which agent answers.</summary>
/// <summary>
/// Twilio's incoming-call webhook, or an outbound call answered (<paramref name="Outbound"/>: we called
/// <paramref name="To"/>, so the person's profile is looked up by it, the use case is the one the call was placed for,
/// and <paramref name="Context"/> becomes <c>{{param.*}}</c> values of the prompt).
/// </summary>
public sealed record AnswerCall(
    string CallSid,
    string From,
    string To,
    bool Outbound = false,
    string? UseCaseId = null,
    IReadOnlyDictionary<string, string>? Context = null) : ICommand<AnswerCallResult>;

/// <summary>The agent that answers, and what the call's relay session is bound to (sealed into its relay ticket).</summary>
public sealed record AnswerCallResult(UseCase UseCase, CallerProfile? Profile, CallContext Call);

internal sealed class AnswerCallValidator : AbstractValidator<AnswerCall>
{
    public AnswerCallValidator()
    {
        RuleFor(c => c.CallSid).MustBeCallSid();
        RuleFor(c => c.From).MaximumLength(256);
        RuleFor(c => c.To).MaximumLength(256);
    }
}

internal sealed partial class AnswerCallHandler(
    IUseCaseResolver resolver,
    ICallJournal journal,
    TimeProvider timeProvider,
    ILogger<AnswerCallHandler> logger) : ICommandHandler<AnswerCall, AnswerCallResult>
{
    public async ValueTask<AnswerCallResult> Handle(AnswerCall command, CancellationToken cancellationToken)
    {
        var (person, dialled) = command.Outbound ? (command.To, command.From) : (command.From, command.To);
        var (useCase, profile) = await resolver.ResolveAsync(person, dialled, command.UseCaseId, cancellationToken).ConfigureAwait(false);

        // Created through the journal: the store's conditional write makes a webhook retry a no-op.
        journal.CallCreated(Call.Create(command.CallSid, command.From, command.To, useCase.Id, timeProvider.GetUtcNow()));
        Log.Answered(logger, LogIds.Call(command.CallSid), useCase.Id, profile is not null, PhoneNumbers.Mask(command.From));

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in command.Context ?? new Dictionary<string, string>())
        {
            parameters[key] = value;
        }

        parameters[CallParameters.UseCaseId] = useCase.Id;
        if (profile?.DisplayName is { Length: > 0 } name)
        {
            parameters[CallParameters.CallerName] = name;
        }

        return new AnswerCallResult(useCase, profile, new CallContext(command.CallSid, command.From, command.To, useCase.Id, parameters));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Call {CallSid} answered with use case {UseCaseId} (known caller: {KnownCaller}, from {From})")]
        public static partial void Answered(ILogger logger, string callSid, string useCaseId, bool knownCaller, string from);
    }
}
