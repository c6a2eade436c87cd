using System.Buffers;
using System.Text;
using System.Text.Json;
using FluentValidation;
using Mediator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Calls.EndSession;

/// <summary>
/// Twilio's Connect action callback: the relay session is over (completed, ended by us, failed, or a status
/// Twilio adds later). Decides what the call does next — hang up, hand off to a person, or reconnect a call moved
/// off a stopping instance — and records the session's duration and error code on the call. Every status gets an
/// answer; an unknown one hangs up.
/// </summary>
public sealed record EndSession(
    string CallSid,
    string? SessionId,
    string SessionStatus,
    string? HandoffData,
    string? ErrorMessage,
    int? SessionDuration = null,
    string? ErrorCode = null,
    string? From = null,
    string? To = null) : ICommand<SessionEndDecision>;

/// <summary>The hand-over of a live call by an instance that is shutting down: /action reconnects such a call.</summary>
public static class DrainHandover
{
    public const string ReasonCode = "server-draining";

    /// <summary>
    /// The handoff data the stopping instance ends the relay session with: the reason code and, when the call
    /// had switched language, that language, so the reconnected session speaks it from its first word.
    /// </summary>
    public static string HandoffData(string? language)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("reason_code", ReasonCode);
            if (language is not null)
            {
                json.WriteString("language", language);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Whether <paramref name="handoffData"/> is a drain hand-over, and the language it carries (if any).</summary>
    public static bool TryRead(string? handoffData, out string? language)
    {
        language = null;
        if (string.IsNullOrWhiteSpace(handoffData))
        {
            return false;
        }

        try
        {
            using var json = JsonDocument.Parse(handoffData);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("reason_code", out var code)
                || code.ValueKind != JsonValueKind.String
                || code.GetString() != ReasonCode)
            {
                return false;
            }

            if (root.TryGetProperty("language", out var spoken) && spoken.ValueKind == JsonValueKind.String)
            {
                language = spoken.GetString();
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>What the rest of the call does once the relay session is over.</summary>
public abstract record SessionEndDecision;

public sealed record HangUp(string? Announcement) : SessionEndDecision;

public sealed record HandOff(HandoffSettings Settings) : SessionEndDecision;

/// <summary>
/// The session ended because its instance was shutting down: connect the caller again (to a healthy instance),
/// in <paramref name="Language"/> when the call had switched to one of the use case's languages.
/// <paramref name="Call"/> is what the new session is bound to (its relay ticket): the same caller, number and use case.
/// With <paramref name="SpeechFallback"/> the new session uses the use case's fallback speech providers (the call has
/// fallen back after a speech provider failed, now or earlier in the call).
/// </summary>
public sealed record Reconnect(UseCase UseCase, CallContext Call, string Greeting, string? Language = null, bool SpeechFallback = false) : SessionEndDecision;

/// <summary>Whether a failed relay session failed because of its transcription or text-to-speech provider.</summary>
public static partial class SpeechProviderFailure
{
    /// <summary>
    /// True when <paramref name="errorCode"/> is one of <paramref name="codes"/> (Conversation:SpeechProviderErrorCodes),
    /// or Twilio's error message names speech synthesis or transcription or one of their providers.
    /// </summary>
    public static bool Matches(string? errorCode, string? errorMessage, IReadOnlyCollection<string> codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        return (errorCode is not null && codes.Contains(errorCode))
            || (errorMessage is not null && SpeechWords().IsMatch(errorMessage));
    }

    [System.Text.RegularExpressions.GeneratedRegex(
        @"\b(tts|stt|text[- ]to[- ]speech|speech[- ]to[- ]text|transcription|transcriber|speech recognition|speech synthesis|synthesi[sz]er|elevenlabs|deepgram|polly|google (tts|stt|speech))\b",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex SpeechWords();
}

internal sealed class EndSessionValidator : AbstractValidator<EndSession>
{
    public EndSessionValidator()
    {
        RuleFor(c => c.CallSid).MustBeCallSid();
        RuleFor(c => c.SessionId).MaximumLength(64);
        RuleFor(c => c.SessionStatus).NotNull().MaximumLength(64);
        RuleFor(c => c.HandoffData).MaximumLength(16_384);
        RuleFor(c => c.ErrorMessage).MaximumLength(4_096);
        RuleFor(c => c.ErrorCode).MaximumLength(64);
        RuleFor(c => c.From).MaximumLength(256);
        RuleFor(c => c.To).MaximumLength(256);
        RuleFor(c => c.SessionDuration).GreaterThanOrEqualTo(0);
    }
}

internal sealed partial class EndSessionHandler(
    IActiveCallRegistry registry,
    ICallRepository calls,
    ICallDirectory directory,
    ICallJournal journal,
    TimeProvider timeProvider,
    IOptions<ConversationOptions> options,
    PostCall.IPostCallRecords postCall,
    ILogger<EndSessionHandler> logger) : ICommandHandler<EndSession, SessionEndDecision>
{
    public async ValueTask<SessionEndDecision> Handle(EndSession command, CancellationToken cancellationToken)
    {
        var (call, useCase) = await FindAsync(command, cancellationToken).ConfigureAwait(false);
        var status = command.SessionStatus.ToLowerInvariant();
        var wantsHandoff = !string.IsNullOrWhiteSpace(command.HandoffData);

        if (DrainHandover.TryRead(command.HandoffData, out var spoken) && (useCase ?? await DefaultUseCaseAsync(cancellationToken).ConfigureAwait(false)) is { } resumed)
        {
            // Not the end of the call: it moves to another instance and picks up where it was, in its language.
            Log.Reconnecting(logger, LogIds.Call(command.CallSid));
            if (call is not null && call.RecordSession(command.SessionId, command.SessionDuration, command.ErrorCode))
            {
                journal.CallChanged(call);
            }

            var language = resumed.FindLanguage(spoken)?.Code;
            return new Reconnect(resumed, Resumed(command.CallSid, call, resumed, language), ReconnectGreeting, language, call?.SpeechFallbackUsed ?? false);
        }

        if (status == "failed"
            && call is not null && !call.IsEnded
            && useCase?.Relay.Fallback is not null
            && SpeechProviderFailure.Matches(command.ErrorCode, command.ErrorMessage, options.Value.SpeechProviderErrorCodes)
            && call.UseSpeechFallback())
        {
            // The caller is still on the line: reconnect with the fallback providers, where the conversation was.
            Log.SpeechFallback(logger, LogIds.Call(command.CallSid), command.ErrorCode ?? "(none)", PiiRedactor.BuiltIn.Redact(command.ErrorMessage ?? "(no error message)"));
            call.RecordSession(command.SessionId, command.SessionDuration, command.ErrorCode);
            journal.CallChanged(call);
            return new Reconnect(useCase, Resumed(command.CallSid, call, useCase, language: null), FallbackGreeting, Language: null, SpeechFallback: true);
        }

        SessionEndDecision decision;
        CallStatus outcome;
        if (wantsHandoff && useCase?.Handoff is { } handoff)
        {
            decision = new HandOff(handoff);
            outcome = CallStatus.HandedOff;
        }
        else if (status == "failed")
        {
            decision = new HangUp(useCase?.ApologyLine ?? "Sorry, something went wrong. Please call again.");
            outcome = CallStatus.Failed;
            Log.SessionFailed(logger, LogIds.Call(command.CallSid), command.ErrorCode ?? "(none)", PiiRedactor.BuiltIn.Redact(command.ErrorMessage ?? "(no error message)"));
        }
        else
        {
            if (status is not ("completed" or "ended"))
            {
                // A status Twilio added after this was written: the session is over all the same.
                Log.UnknownStatus(logger, LogIds.Call(command.CallSid), command.SessionStatus);
            }

            if (wantsHandoff)
            {
                Log.HandoffUnconfigured(logger, LogIds.Call(command.CallSid), useCase?.Id ?? "(unknown)");
            }

            decision = new HangUp(null);
            outcome = CallStatus.Completed;
        }

        if (call is null)
        {
            // Neither live here nor stored (yet): its writes may still be on their way through a busy journal. The end
            // is journaled all the same: it lands after them (a call's entries keep their order), and the store never
            // takes an end back, nor lets it overwrite who called and the use case.
            Log.EndingUnseenCall(logger, LogIds.Call(command.CallSid));
            call = Call.Create(command.CallSid, command.From ?? string.Empty, command.To ?? string.Empty, useCase?.Id ?? options.Value.DefaultUseCaseId, timeProvider.GetUtcNow());
        }

        // Both steps are idempotent: a replayed callback (same session) changes nothing and writes nothing.
        var recorded = call.RecordSession(command.SessionId, command.SessionDuration, command.ErrorCode);
        var ended = call.End(outcome, command.HandoffData, timeProvider.GetUtcNow());
        if (ended | recorded)
        {
            journal.CallChanged(call);
        }

        if (ended)
        {
            // Off the callback's path: the record is written once the end is stored.
            postCall.Enqueue(call.CallSid);
        }

        Log.SessionEnded(logger, LogIds.Call(command.CallSid), command.SessionStatus, outcome);
        return decision;
    }

    /// <summary>What a reconnected session is bound to: the same call, caller and number, resuming its conversation.</summary>
    private static CallContext Resumed(string callSid, Call? call, UseCase useCase, string? language)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { [CallParameters.UseCaseId] = useCase.Id };
        if (language is not null)
        {
            parameters[CallParameters.Language] = language;
        }

        return new CallContext(callSid, call?.From ?? string.Empty, call?.To ?? string.Empty, useCase.Id, parameters, Resume: true);
    }

    /// <summary>How long the session-end callback waits for this instance's queued writes of the call (Twilio waits 15 s).</summary>
    private static readonly TimeSpan JournalWait = TimeSpan.FromSeconds(2);

    private const string ReconnectGreeting = "Thanks for holding, I'm back with you.";

    private const string FallbackGreeting = "Sorry about that, we had a problem with the line. I'm back with you.";

    private Task<UseCase?> DefaultUseCaseAsync(CancellationToken cancellationToken) =>
        directory.GetUseCaseAsync(options.Value.DefaultUseCaseId, cancellationToken);

    /// <summary>
    /// The call, live here or stored, and its use case. A call whose session just closed here may still have writes in
    /// this instance's journal (its creation, on a short call or a busy store): they are waited for, briefly, before
    /// the store is read. A call found nowhere still gets the use case of the number it dialled, so that a hand-off
    /// it asked for is not lost.
    /// </summary>
    private async Task<(Call? Call, UseCase? UseCase)> FindAsync(EndSession command, CancellationToken cancellationToken)
    {
        var callSid = command.CallSid;
        if (registry.TryGet(callSid, out var active) && active is not null)
        {
            return (active.Call, active.UseCase);
        }

        try
        {
            // When the store is slow or refusing this call's writes, what it has is read after the wait.
            await journal.WaitWrittenAsync(callSid, JournalWait, timeProvider, cancellationToken).ConfigureAwait(false);

            var call = await calls.GetAsync(callSid, cancellationToken).ConfigureAwait(false);
            var useCaseId = call?.UseCaseId
                ?? (command.To is { Length: > 0 } to ? await directory.FindUseCaseIdForNumberAsync(to, cancellationToken).ConfigureAwait(false) : null);
            var useCase = useCaseId is null ? null : await directory.GetUseCaseAsync(useCaseId, cancellationToken).ConfigureAwait(false);
            return (call, useCase);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.LookupFailed(logger, ex, LogIds.Call(callSid));
            return (null, null);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Call {CallSid} relay session ended ({SessionStatus}) → {Outcome}")]
        public static partial void SessionEnded(ILogger logger, string callSid, string sessionStatus, CallStatus outcome);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Call {CallSid} relay session failed (error {ErrorCode}): {ErrorMessage}")]
        public static partial void SessionFailed(ILogger logger, string callSid, string errorCode, string errorMessage);

        [LoggerMessage(EventId = 1306, Level = LogLevel.Warning, Message = "Call {CallSid}: session ended with status '{SessionStatus}', which this version does not know; hanging up")]
        public static partial void UnknownStatus(ILogger logger, string callSid, string sessionStatus);

        [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Call {CallSid} asked for a handoff but use case {UseCaseId} has no handoff settings; hanging up")]
        public static partial void HandoffUnconfigured(ILogger logger, string callSid, string useCaseId);

        [LoggerMessage(EventId = 1307, Level = LogLevel.Warning, Message = "Call {CallSid}: the relay session failed in its speech providers (error {ErrorCode}: {ErrorMessage}); reconnecting with the fallback providers")]
        public static partial void SpeechFallback(ILogger logger, string callSid, string errorCode, string errorMessage);

        [LoggerMessage(EventId = 1308, Level = LogLevel.Information, Message = "Call {CallSid} ended before any of its state was found; its end is stored to land after its pending writes")]
        public static partial void EndingUnseenCall(ILogger logger, string callSid);

        [LoggerMessage(EventId = 1305, Level = LogLevel.Information, Message = "Call {CallSid} was moved off a stopping instance; reconnecting it")]
        public static partial void Reconnecting(ILogger logger, string callSid);

        [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Call {CallSid} could not be looked up at session end")]
        public static partial void LookupFailed(ILogger logger, Exception exception, string callSid);
    }
}
