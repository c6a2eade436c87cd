using System.Globalization;
using FluentValidation;
using Mediator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Conversations;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Tools;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Relay.SessionStarted;

/// <summary>
/// The relay's setup message: the call is connected. Who called, the dialled number and the use case come from
/// <paramref name="Call"/>, what the signed webhook established (the session's relay ticket), never from setup.
/// The cancellation token given to Send is the session's lifetime; it ends the call's loop and every turn of it.
/// </summary>
public sealed record SessionStarted(CallContext Call, string SessionId, ICallOutput Output) : ICommand<ActiveCall>;

internal sealed class SessionStartedValidator : AbstractValidator<SessionStarted>
{
    public SessionStartedValidator()
    {
        RuleFor(c => c.Call).NotNull();
        RuleFor(c => c.Call.CallSid).MustBeCallSid();
        RuleFor(c => c.Call.From).NotNull().MaximumLength(256);
        RuleFor(c => c.Call.To).NotNull().MaximumLength(256);
        RuleFor(c => c.Call.UseCaseId).NotNull().MaximumLength(128);
        RuleFor(c => c.Call.Parameters).NotNull().Must(p => p.Count <= 16).WithMessage("At most 16 call parameters.");
        RuleFor(c => c.SessionId).NotEmpty().MaximumLength(64);
        RuleFor(c => c.Output).NotNull();
    }
}

internal sealed partial class SessionStartedHandler(
    IUseCaseResolver resolver,
    ICallRepository calls,
    IActiveCallRegistry registry,
    IToolCatalog tools,
    CallLoopServices loops,
    ICallJournal journal,
    TimeProvider timeProvider,
    IOptions<ConversationOptions> options,
    IEnumerable<Modules.IPromptValues> promptValues,
    ILogger<SessionStartedHandler> logger) : ICommandHandler<SessionStarted, ActiveCall>
{
    public async ValueTask<ActiveCall> Handle(SessionStarted command, CancellationToken cancellationToken)
    {
        var context = command.Call;
        var (useCase, profile) = await resolver.ResolveAsync(context.From, context.To, context.UseCaseId, cancellationToken).ConfigureAwait(false);

        var now = timeProvider.GetUtcNow();
        Call call;
        Conversation? history = null;
        if (context.Resume)
        {
            // A call moved here from a stopping instance continues its conversation.
            var stored = await LoadCallAsync(context.CallSid, cancellationToken).ConfigureAwait(false);
            call = stored ?? Call.Create(context.CallSid, context.From, context.To, useCase.Id, now);
            if (stored is { Status: CallStatus.InProgress })
            {
                history = await LoadHistoryAsync(call.CallSid, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            // A call the webhook has just answered: its history is empty, no store read needed.
            call = Call.Create(context.CallSid, context.From, context.To, useCase.Id, now);
        }

        call.Connect(command.SessionId, now);
        journal.CallChanged(call);

        var active = new ActiveCall(
            call, useCase, profile, () => RenderSystemPrompt(useCase, profile, context, now), command.Output, cancellationToken, tools.SpecsFor(useCase), history, options.Value.MaxUtteranceChars)
        {
            // A call handed over in another language goes on in it (the TwiML already started the relay in it).
            Language = context.Parameters.TryGetValue(CallParameters.Language, out var language) ? useCase.FindLanguage(language)?.Code : null,
        };
        registry.Add(active);
        active.Start(new CallLoop(active, loops));
        Log.SessionStarted(logger, LogIds.Call(context.CallSid), command.SessionId, useCase.Id);
        return active;
    }

    /// <summary>
    /// The call's system prompt, rendered at its first turn (an idle call holds none of it): the use case's prompt with
    /// the caller's profile, the date and time the session started, the call's parameters, and what the use case's
    /// business module shows in its prompt (<c>{{menu}}</c>) from the data its tools use. Module values are the same
    /// for every call, so the prompt up to the first of this call's own values can be cached by the model.
    /// </summary>
    private SystemPromptParts RenderSystemPrompt(UseCase useCase, CallerProfile? profile, CallContext context, DateTimeOffset now)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["today"] = now.ToString("dddd d MMMM yyyy", CultureInfo.InvariantCulture),
            ["now"] = now.ToString("HH:mm 'UTC'", CultureInfo.InvariantCulture),
        };
        if (profile is not null)
        {
            foreach (var (key, value) in profile.PromptValues())
            {
                values[key] = value;
            }
        }

        foreach (var (key, value) in context.Parameters)
        {
            values["param." + key] = value;
        }

        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var module in promptValues)
        {
            module.AddTo(useCase, shared);
        }

        foreach (var (key, value) in shared)
        {
            values[key] = value;
        }

        return useCase.RenderSystemPrompt(values, name => !shared.ContainsKey(name));
    }

    private async Task<Call?> LoadCallAsync(string callSid, CancellationToken cancellationToken)
    {
        try
        {
            return await calls.GetAsync(callSid, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store being down must not stop the call; the journal writes the call once it is back.
            Log.CallLoadFailed(logger, ex, LogIds.Call(callSid));
            return null;
        }
    }

    private async Task<Conversation?> LoadHistoryAsync(string callSid, CancellationToken cancellationToken)
    {
        try
        {
            var messages = await calls.GetMessagesAsync(callSid, cancellationToken).ConfigureAwait(false);
            var history = Conversation.Restore(messages);
            Log.Resumed(logger, LogIds.Call(callSid), messages.Count);
            return history;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Unreadable or half-written history: the caller is better served by a fresh start than none.
            Log.HistoryUnavailable(logger, ex, LogIds.Call(callSid));
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Call {CallSid} resumed on this instance with {Messages} messages of history")]
        public static partial void Resumed(ILogger logger, string callSid, int messages);

        [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Call {CallSid} resumed without its history")]
        public static partial void HistoryUnavailable(ILogger logger, Exception exception, string callSid);

        [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Call {CallSid} relay session {SessionId} started with use case {UseCaseId}")]
        public static partial void SessionStarted(ILogger logger, string callSid, string sessionId, string useCaseId);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Call {CallSid} could not be loaded; continuing with a new record")]
        public static partial void CallLoadFailed(ILogger logger, Exception exception, string callSid);
    }
}
