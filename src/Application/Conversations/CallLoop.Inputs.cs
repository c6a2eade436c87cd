using System.Text;
using VoiceAgent.Application.Tools;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Conversations;

/// <summary>The caller's inputs: prompts, barge-in, key presses and silence.</summary>
internal sealed partial class CallLoop
{
    private const string SilenceInput = "(The caller said nothing.)";
    private const int MaxDigits = 16;

    private readonly StringBuilder _digits = new();
    private ITimer? _digitTimer;
    private int _digitGeneration;
    private ITimer? _silenceTimer;
    private int _silenceGeneration;
    private int _silencesInARow;

    /// <summary>What the caller is saying right now, from the latest partial prompt; at most MaxUtteranceChars.</summary>
    public string? Preview
    {
        get => Volatile.Read(ref field);
        private set => Volatile.Write(ref field, value);
    }

    /// <summary>
    /// A partial prompt (the utterance so far) only replaces the preview; the final one is the utterance, cut to
    /// MaxUtteranceChars at a word, and starts a turn. Both are redacted first (the use case's <c>PiiRedactor</c>).
    /// </summary>
    private void OnPrompt(CallInput.Prompt prompt)
    {
        CallerHeard();
        // Personal data never gets past this line: the model, the store, the preview and the logs see the markers.
        var utterance = Utterance.Cut(_call.UseCase.Redactor.Redact(prompt.Text, partial: !prompt.Last), _call.MaxUtteranceChars);
        if (!prompt.Last)
        {
            Preview = utterance;
            OnPartial(utterance);
            return;
        }

        Preview = null;
        if (TakeHeld(utterance, prompt.ReceivedAt) is { } held)
        {
            StartTurn(new PendingTurn(utterance, ReceivedAt: prompt.ReceivedAt, Held: held));
            return;
        }

        if (!string.IsNullOrEmpty(utterance))
        {
            Begin(new PendingTurn(utterance, ReceivedAt: prompt.ReceivedAt));
        }
    }

    /// <summary>
    /// The caller barged in: the running answer stops at once and the history keeps only what the caller heard,
    /// whether the answer was still streaming or already complete.
    /// </summary>
    private void OnInterrupt(CallInput.Interrupt interrupt)
    {
        CallerHeard();
        DropHeld(PreemptionOutcome.Dropped);
        _services.Telemetry.BargeIn(_call.UseCase.Id);
        if (Running is { } turn)
        {
            // The turn records what was heard when it is closed.
            turn.Clock.Interrupted(_services.Time.GetTimestamp());
            turn.Heard = interrupt.Heard;
            Stop(turn);
            Log.InterruptedRunning(Logger, _call.LogId, turn.Id, interrupt.DurationMs);
            return;
        }

        var interruptedMs = _lastTurnStartedAt == 0 ? (int?)null : (int)Math.Round(_services.Time.GetElapsedTime(_lastTurnStartedAt).TotalMilliseconds);
        _services.Journal.SaveTruncation(_call, Conversation.TruncateLastAssistant(interrupt.Heard, interruptedMs));
        Log.InterruptedSpeaking(Logger, _call.LogId, interrupt.DurationMs);
    }

    /// <summary>One of Twilio's info or error frames: recorded with the running turn, or with the next one.</summary>
    private void OnRelayEvent(CallInput.RelayEvent relayEvent)
    {
        if (Running is { } turn)
        {
            turn.Clock.RelayEvent(relayEvent.Text);
            return;
        }

        _relayEventsBetweenTurns ??= [];
        if (_relayEventsBetweenTurns.Count < TurnTimings.MaxRelayEvents)
        {
            _relayEventsBetweenTurns.Add(relayEvent.Text);
        }
    }

    /// <summary>
    /// Keys are gathered until no key follows within the inter-digit timeout (or '#', or the longest sequence);
    /// the use case's digit map then decides (reply, prompt or tool); unmapped sequences go to the model.
    /// </summary>
    private void OnDigit(string digit)
    {
        CallerHeard();
        _digitTimer?.Dispose();
        _digitTimer = null;
        _digits.Append(digit);
        if (digit == "#" || _digits.Length >= MaxDigits)
        {
            ActOnDigits();
            return;
        }

        var generation = ++_digitGeneration;
        _digitTimer = PostAfter(_services.Options.DtmfInterDigitTimeout, new CallInput.DigitsTimedOut(generation));
    }

    private void OnDigitsTimedOut(int generation)
    {
        if (generation == _digitGeneration)
        {
            ActOnDigits();
        }
    }

    private void ActOnDigits()
    {
        _digitTimer?.Dispose();
        _digitTimer = null;
        _digitGeneration++;
        if (_digits.Length == 0)
        {
            return;
        }

        var digits = _digits.ToString();
        _digits.Clear();
        if (_ended || _handedOver)
        {
            return;
        }

        var map = _call.UseCase.DtmfMap;
        if (!map.TryGetValue(digits, out var action) && digits.Length > 1 && digits.EndsWith('#'))
        {
            map.TryGetValue(digits[..^1], out action);
        }

        var keyed = _call.UseCase.Redactor.Redact(digits);
        var pressed = ReferenceEquals(keyed, digits) ? $"(The caller pressed {digits} on the keypad.)" : $"(The caller keyed in {keyed} on the keypad.)";
        switch (action)
        {
            case DtmfReply reply:
                Begin(new PendingTurn(pressed, reply.Text));
                break;
            case DtmfPrompt prompt:
                Begin(new PendingTurn(prompt.Text));
                break;
            case DtmfInvokeTool tool:
                InvokeForDigits(pressed, tool);
                break;
            default:
                Begin(new PendingTurn(pressed));
                break;
        }
    }

    /// <summary>Runs the tool a key press maps to, off the loop; the reply (or the apology) follows as a turn.</summary>
    private void InvokeForDigits(string pressed, DtmfInvokeTool action)
    {
        _dtmfTools++;
        _ = Task.Run(async () =>
        {
            ToolInvocation? invocation = null;
            try
            {
                var use = new ToolUseBlock("dtmf-" + Guid.NewGuid().ToString("N")[..12], action.ToolName, action.InputJson);
                invocation = await _services.Invoker.InvokeAsync(_call, use, _call.SessionToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The session ended while the tool ran.
            }
            catch (Exception ex)
            {
                Log.DtmfFailed(Logger, ex, _call.LogId);
            }

            Post(new CallInput.DtmfToolInvoked(pressed, action, invocation));
        }, CancellationToken.None);
    }

    private void OnDtmfToolInvoked(CallInput.DtmfToolInvoked invoked)
    {
        _dtmfTools--;
        if (invoked.Invocation is { EndsTurn: true })
        {
            return;
        }

        var reply = invoked.Invocation?.Result.Status == ToolResultStatus.Success ? invoked.Action.Reply : _call.UseCase.ApologyLine;
        if (reply is not null)
        {
            Begin(new PendingTurn(invoked.Pressed, reply));
        }
    }

    /// <summary>
    /// Starts (or restarts) waiting for the caller: after the use case's silence timeout, reprompt once, then say
    /// goodbye and end. No-op when the use case leaves silence alone or the call is over.
    /// </summary>
    private void AwaitCaller()
    {
        StopSilenceTimer();
        if (_ended || _handedOver || _call.UseCase.Silence is not { } silence)
        {
            return;
        }

        _silenceTimer = PostAfter(silence.Timeout, new CallInput.SilenceElapsed(_silenceGeneration));
    }

    private void OnSilence(int generation)
    {
        if (generation != _silenceGeneration || Running is not null || _call.UseCase.Silence is not { } silence)
        {
            return;
        }

        var count = ++_silencesInARow;
        Log.Silence(Logger, _call.LogId, count);
        Begin(new PendingTurn(SilenceInput, count == 1 ? silence.RepromptLine : silence.GoodbyeLine, EndsCall: count > 1));
    }

    /// <summary>The caller did something (spoke, pressed a key, barged in): stop the silence countdown and its count.</summary>
    private void CallerHeard()
    {
        StopSilenceTimer();
        _silencesInARow = 0;
    }

    private void StopSilenceTimer()
    {
        _silenceTimer?.Dispose();
        _silenceTimer = null;
        _silenceGeneration++;
    }

    private void DisposeTimers()
    {
        StopSilenceTimer();
        StopStableTimer();
        _digitTimer?.Dispose();
        _digitTimer = null;
        _digitGeneration++;
        _digits.Clear();
    }
}
