using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// One model round of a turn, off the call's loop: streams the answer token by token to the caller through a
/// <see cref="SpeechFilter"/>, collects the tool uses, and reports how it ended. It never touches the conversation.
/// A failure is the caller's to hear as the use case's apology line; a cancellation ends quietly.
/// </summary>
internal sealed partial class ModelRound(ILanguageModel model, IOptions<PricingOptions> pricing, ConversationTelemetry telemetry, ILogger<ModelRound> logger)
{
    public ILanguageModel Model => model;

    /// <summary>The tokens of a finished model call and their cost (zero when the profile has no price); the cost is counted.</summary>
    public (TokenUsage Usage, decimal Cost) Price(string useCaseId, ModelCompleted completed)
    {
        ArgumentNullException.ThrowIfNull(completed);
        var usage = completed.Usage is { } u ? new TokenUsage(u.InputTokens, u.OutputTokens, u.CacheReadInputTokens, u.CacheWriteInputTokens) : TokenUsage.None;
        var cost = pricing.Value.Cost(completed.Profile, usage) ?? 0m;
        telemetry.ModelCost(useCaseId, completed.Profile, cost);
        return (usage, cost);
    }

    /// <summary>
    /// One model call off any turn (a running summary, a post-call record), read whole: its text, the input of the
    /// tool the request makes it call, and its priced usage.
    /// </summary>
    public async Task<BackgroundAnswer> AskAsync(string useCaseId, ModelRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = new StringBuilder();
        string? toolInput = null;
        TokenUsage? usage = null;
        var cost = 0m;
        await foreach (var streamEvent in model.StreamAsync(request, cancellationToken).ConfigureAwait(false))
        {
            switch (streamEvent)
            {
                case TextDelta delta:
                    text.Append(delta.Text);
                    break;
                case ToolUseRequested use when use.Name == request.Settings.ToolChoice:
                    toolInput = use.InputJson;
                    break;
                case ModelCompleted { Usage: not null } completed:
                    (usage, cost) = Price(useCaseId, completed);
                    break;
            }
        }

        return new BackgroundAnswer(text.ToString(), toolInput, usage, cost);
    }

    /// <param name="call">The call.</param>
    /// <param name="turn">The turn the round belongs to.</param>
    /// <param name="request">What the model is asked (again, when a first answer was malformed).</param>
    /// <param name="first">The first model call's events when they are already on their way (a confirmed preemptive answer).</param>
    public async Task<RoundOutcome> StreamAsync(ActiveCall call, TurnHandle turn, ModelRequest request, IAsyncEnumerable<ModelStreamEvent>? first = null)
    {
        try
        {
            var useCase = call.UseCase;
            var retried = false;
            Pass pass;
            while (true)
            {
                if (first is null)
                {
                    turn.Clock.ModelRequested(telemetry.Timestamp());
                }

                pass = await StreamOnceAsync(call, turn, first ?? model.StreamAsync(request, turn.Token)).ConfigureAwait(false);
                first = null;
                turn.Token.ThrowIfCancellationRequested();
                if (retried || pass.Spoke)
                {
                    break;
                }

                // Nothing reached the caller yet: a malformed answer is asked for once more, and a history too long
                // for the model's window is sent once more with only its latest exchanges.
                if (pass.StopReason is ModelStopReason.MalformedModelOutput or ModelStopReason.MalformedToolUse)
                {
                    Log.RetryingMalformed(logger, call.LogId, turn.Id, pass.StopReason);
                    retried = true;
                    continue;
                }

                if (pass.StopReason is ModelStopReason.ModelContextWindowExceeded && ContextWindow.Latest(request) is { } shorter)
                {
                    Log.RetryingShorter(logger, call.LogId, turn.Id, request.Messages.Count, shorter.Messages.Count);
                    request = shorter;
                    retried = true;
                    continue;
                }

                break;
            }

            if (pass.StopReason is ModelStopReason.MalformedModelOutput or ModelStopReason.MalformedToolUse or ModelStopReason.ModelContextWindowExceeded)
            {
                // Asked again and still unusable: the caller hears the apology, no tool runs.
                Log.ModelFailedTurn(logger, call.LogId, turn.Id, pass.StopReason);
                await ApologiseAsync(call, turn).ConfigureAwait(false);
                return RoundOutcome.Failure;
            }

            if (pass.Moderation is not null)
            {
                // A content guardrail stopped the answer: the caller hears the use case's line, no tool runs, and the
                // turn records why.
                turn.Moderation = pass.Moderation;
                turn.StartStretch();
                await turn.SayAsync(call.Output, useCase.GuardrailLine, last: false).ConfigureAwait(false);
                await turn.SayAsync(call.Output, string.Empty, last: true).ConfigureAwait(false);
                return RoundOutcome.Done;
            }

            if (pass.StopReason == ModelStopReason.MaxTokens && pass.Spoke && pass.LastSpoken is not ('.' or '!' or '?' or '…'))
            {
                // Cut off by the token limit mid-sentence: the sentence is closed, so the voice ends it rather than
                // hanging on a half-said clause.
                await turn.SayAsync(call.Output, ".", last: false).ConfigureAwait(false);
            }

            if (pass.ToolUses is null)
            {
                await turn.SayAsync(call.Output, string.Empty, last: true).ConfigureAwait(false);
                return RoundOutcome.Done;
            }

            if (turn.Round >= useCase.Model.MaxToolRounds)
            {
                // The uses are recorded, answered as not run, and the caller hears the apology.
                Log.ToolRoundsExceeded(logger, call.LogId, turn.Id, useCase.Model.MaxToolRounds);
                await ApologiseAsync(call, turn).ConfigureAwait(false);
                return new RoundOutcome(pass.ToolUses, Failed: true, pass.Reasoning);
            }

            return new RoundOutcome(pass.ToolUses, Reasoning: pass.Reasoning);
        }
        catch (Exception ex)
        {
            return await FailedAsync(call, turn, ex).ConfigureAwait(false);
        }
    }

    /// <summary>One model call: its text spoken as it streams, its tool uses gathered, and how it stopped.</summary>
    private async Task<Pass> StreamOnceAsync(ActiveCall call, TurnHandle turn, IAsyncEnumerable<ModelStreamEvent> events)
    {
        List<ContentBlock>? toolUses = null;
        List<ContentBlock>? reasoning = null;
        string? moderation = null;
        var stopReason = ModelStopReason.EndTurn;
        var filter = new SpeechFilter();
        var spoke = false;
        var lastSpoken = '\0';
        turn.StartStretch();
        using (var llm = ConversationTelemetry.Source.StartActivity("llm"))
        {
            llm?.SetTag("voiceagent.round", turn.Round);
            await foreach (var streamEvent in events.ConfigureAwait(false))
            {
                switch (streamEvent)
                {
                    case TextDelta { Text.Length: > 0 } delta:
                        turn.Clock.ModelTokenArrived(telemetry.Timestamp());
                        await SayAsync(filter.Feed(delta.Text)).ConfigureAwait(false);
                        break;
                    case ToolUseRequested use:
                        turn.Clock.ModelTokenArrived(telemetry.Timestamp());
                        (toolUses ??= []).Add(new ToolUseBlock(use.ToolUseId, use.Name, use.InputJson));
                        break;
                    case ReasoningProduced thought:
                        (reasoning ??= []).Add(thought.Block);
                        break;
                    case ModelCompleted completed:
                        stopReason = completed.StopReason;
                        turn.Clock.ModelAnswered(completed.Profile, completed.Fallbacks);
                        llm?.SetTag("gen_ai.response.model", completed.Profile);
                        llm?.SetTag("voiceagent.llm.fallbacks", completed.Fallbacks);
                        if (completed.Usage is not null)
                        {
                            var (usage, cost) = Price(call.UseCase.Id, completed);
                            turn.AddUsage(usage, cost);
                        }

                        llm?.SetTag("gen_ai.response.finish_reason", completed.StopReason.ToString());
                        llm?.SetTag("gen_ai.usage.input_tokens", completed.Usage?.InputTokens);
                        llm?.SetTag("gen_ai.usage.output_tokens", completed.Usage?.OutputTokens);
                        llm?.SetTag("gen_ai.usage.cache_read_input_tokens", completed.Usage?.CacheReadInputTokens);
                        llm?.SetTag("gen_ai.usage.cache_write_input_tokens", completed.Usage?.CacheWriteInputTokens);
                        if (completed.StopReason is ModelStopReason.GuardrailIntervened or ModelStopReason.ContentFiltered)
                        {
                            moderation = completed.StopReason == ModelStopReason.GuardrailIntervened ? "guardrail_intervened" : "content_filtered";
                        }

                        if (completed.StopReason is not (ModelStopReason.EndTurn or ModelStopReason.ToolUse))
                        {
                            Log.ModelStopped(logger, call.LogId, turn.Id, completed.StopReason);
                        }

                        break;
                }
            }
        }

        await SayAsync(filter.Flush()).ConfigureAwait(false);

        // A malformed tool use is not run.
        return stopReason == ModelStopReason.MalformedToolUse
            ? new Pass(null, null, moderation, stopReason, spoke, lastSpoken)
            : new Pass(toolUses, reasoning, moderation, stopReason, spoke, lastSpoken);

        // Speaks what the filter let through, noting that this pass spoke and the last character it ended on.
        ValueTask SayAsync(string text)
        {
            if (text.Length > 0)
            {
                spoke = true;
                lastSpoken = text.AsSpan().TrimEnd() is { Length: > 0 } trimmed ? trimmed[^1] : lastSpoken;
            }

            return turn.SayAsync(call.Output, text, last: false);
        }
    }

    private readonly record struct Pass(
        List<ContentBlock>? ToolUses, List<ContentBlock>? Reasoning, string? Moderation, ModelStopReason StopReason, bool Spoke, char LastSpoken);

    /// <summary>A cancellation ends quietly; anything else is the caller's to hear as the apology.</summary>
    private async Task<RoundOutcome> FailedAsync(ActiveCall call, TurnHandle turn, Exception exception)
    {
        if (turn.IsCancelled)
        {
            if (exception is not OperationCanceledException)
            {
                // Cancelled, then tripped over the turn that took over: nothing to say to the caller.
                Log.CancelledTurnFailed(logger, exception, call.LogId, turn.Id);
            }

            return RoundOutcome.Done;
        }

        Log.TurnFailed(logger, exception, call.LogId, turn.Id);
        await ApologiseAsync(call, turn).ConfigureAwait(false);
        return RoundOutcome.Failure;
    }

    private async Task ApologiseAsync(ActiveCall call, TurnHandle turn)
    {
        turn.Apology = call.UseCase.ApologyLine;
        try
        {
            await call.Output.SendAsync(new SpeakText(turn.SeparatedFromSpoken(turn.Apology), Last: true), null, call.SessionToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
        {
            Log.ApologyNotSent(logger, call.LogId);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Call {CallSid} turn {TurnId} failed; the caller hears the apology line")]
        public static partial void TurnFailed(ILogger logger, Exception exception, string callSid, long turnId);

        [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, Message = "Call {CallSid} turn {TurnId} failed after it was cancelled")]
        public static partial void CancelledTurnFailed(ILogger logger, Exception exception, string callSid, long turnId);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Call {CallSid} turn {TurnId}: model stopped with {StopReason}")]
        public static partial void ModelStopped(ILogger logger, string callSid, long turnId, ModelStopReason stopReason);

        [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Call {CallSid} turn {TurnId}: the model stopped with {StopReason} before speaking; asking once more")]
        public static partial void RetryingMalformed(ILogger logger, string callSid, long turnId, ModelStopReason stopReason);

        [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Call {CallSid} turn {TurnId}: the history exceeded the model's context window; asking once more with {Kept} of its {Messages} messages")]
        public static partial void RetryingShorter(ILogger logger, string callSid, long turnId, int messages, int kept);

        [LoggerMessage(EventId = 2010, Level = LogLevel.Error, Message = "Call {CallSid} turn {TurnId}: the model stopped with {StopReason} again; the caller hears the apology line")]
        public static partial void ModelFailedTurn(ILogger logger, string callSid, long turnId, ModelStopReason stopReason);

        [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Call {CallSid} turn {TurnId} exceeded {MaxRounds} tool rounds")]
        public static partial void ToolRoundsExceeded(ILogger logger, string callSid, long turnId, int maxRounds);

        [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Call {CallSid}: the apology could not be sent (session closing)")]
        public static partial void ApologyNotSent(ILogger logger, string callSid);
    }
}

/// <summary>What a model call off the conversation answered: its text as written, the forced tool's input, its usage.</summary>
internal sealed record BackgroundAnswer(string Text, string? ToolInput, TokenUsage? Usage, decimal Cost);
