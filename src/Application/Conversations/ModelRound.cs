using Microsoft.Extensions.Logging;
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
internal sealed partial class ModelRound(ILanguageModel model, ILogger<ModelRound> logger)
{
    public async Task<RoundOutcome> StreamAsync(ActiveCall call, TurnHandle turn, ModelRequest request)
    {
        try
        {
            var useCase = call.UseCase;
            List<ContentBlock>? toolUses = null;
            string? moderation = null;
            var filter = new SpeechFilter();
            turn.StartStretch();
            using (var llm = ConversationTelemetry.Source.StartActivity("llm"))
            {
                llm?.SetTag("voiceagent.round", turn.Round);
                await foreach (var streamEvent in model.StreamAsync(request, turn.Token).ConfigureAwait(false))
                {
                    switch (streamEvent)
                    {
                        case TextDelta { Text.Length: > 0 } delta:
                            await turn.SayAsync(call.Output, filter.Feed(delta.Text), last: false).ConfigureAwait(false);
                            break;
                        case ToolUseRequested use:
                            (toolUses ??= []).Add(new ToolUseBlock(use.ToolUseId, use.Name, use.InputJson));
                            break;
                        case ModelCompleted completed:
                            llm?.SetTag("gen_ai.response.finish_reason", completed.StopReason.ToString());
                            llm?.SetTag("gen_ai.usage.input_tokens", completed.Usage?.InputTokens);
                            llm?.SetTag("gen_ai.usage.output_tokens", completed.Usage?.OutputTokens);
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

            await turn.SayAsync(call.Output, filter.Flush(), last: false).ConfigureAwait(false);
            turn.Token.ThrowIfCancellationRequested();
            if (moderation is not null)
            {
                // A content guardrail stopped the answer: the caller hears the use case's line, no tool runs, and the
                // turn records why.
                turn.Moderation = moderation;
                turn.StartStretch();
                await turn.SayAsync(call.Output, useCase.GuardrailLine, last: false).ConfigureAwait(false);
                await turn.SayAsync(call.Output, string.Empty, last: true).ConfigureAwait(false);
                return RoundOutcome.Done;
            }

            if (toolUses is null)
            {
                await turn.SayAsync(call.Output, string.Empty, last: true).ConfigureAwait(false);
                return RoundOutcome.Done;
            }

            if (turn.Round >= useCase.Model.MaxToolRounds)
            {
                // The uses are recorded, answered as not run, and the caller hears the apology.
                Log.ToolRoundsExceeded(logger, call.LogId, turn.Id, useCase.Model.MaxToolRounds);
                await ApologiseAsync(call, turn).ConfigureAwait(false);
                return new RoundOutcome(toolUses, Failed: true);
            }

            return new RoundOutcome(toolUses);
        }
        catch (Exception ex)
        {
            return await FailedAsync(call, turn, ex).ConfigureAwait(false);
        }
    }

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

        [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Call {CallSid} turn {TurnId} exceeded {MaxRounds} tool rounds")]
        public static partial void ToolRoundsExceeded(ILogger logger, string callSid, long turnId, int maxRounds);

        [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Call {CallSid}: the apology could not be sent (session closing)")]
        public static partial void ApologyNotSent(ILogger logger, string callSid);
    }
}
