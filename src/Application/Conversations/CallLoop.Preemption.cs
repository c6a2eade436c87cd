using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// Preemptive answers: while the caller speaks, Twilio sends the utterance so far (partial prompts) and the final
/// one only after its end-of-speech wait. A partial that stays the same for Conversation:PreemptAfter starts the model
/// on it, held (<see cref="HeldAnswer"/>); the final prompt releases it when the words match (normalised), so the
/// caller hears the answer as soon as the final arrives, or drops it and asks afresh.
/// </summary>
internal sealed partial class CallLoop
{
    private ITimer? _stableTimer;
    private int _stableGeneration;
    private HeldAnswer? _held;

    private bool PreemptionOn => _services.Options.Preemption && _call.UseCase.Model.Preemptive && !_ended && !_handedOver;

    /// <summary>A partial prompt: the held answer stands while the words are the same; other words re-arm the wait.</summary>
    private void OnPartial(string utterance)
    {
        if (!PreemptionOn || Running is not null)
        {
            return;
        }

        var key = Utterance.Normalise(utterance);
        if (_held is { } held && held.Key == key)
        {
            return;
        }

        DropHeld(PreemptionOutcome.Superseded);
        StopStableTimer();
        if (key.Length > 0)
        {
            _stableTimer = PostAfter(_services.Options.PreemptAfter, new CallInput.PartialStable(_stableGeneration));
        }
    }

    /// <summary>The partial has not changed: the model starts on it with the history as it is, and its answer is held.</summary>
    private void OnPartialStable(int generation)
    {
        // A stale input (its timer replaced by a newer partial's) must leave the newer timer alone.
        if (generation != _stableGeneration)
        {
            return;
        }

        StopStableTimer();
        if (Preview is not { } words || _held is not null || Running is not null || !PreemptionOn)
        {
            return;
        }

        var request = Request([.. Verbatim(), new ConversationMessage(ConversationRole.User, [new TextBlock(words)])]);
        _held = HeldAnswer.Start(_services.Rounds.Model, request, Utterance.Normalise(words), _services.Time.GetTimestamp(), _call.SessionToken);
    }

    /// <summary>
    /// The final prompt: the held answer when it answers the same words and has not failed (a hit), else null (it is
    /// dropped as a miss). The wait for a stable partial ends either way.
    /// </summary>
    private HeldAnswer? TakeHeld(string final, long receivedAt)
    {
        StopStableTimer();
        if (_held is not { } held)
        {
            return null;
        }

        _held = null;
        if (final.Length > 0 && held.Key == Utterance.Normalise(final) && !held.Failed && Running is null && !_ended && !_handedOver)
        {
            var arrived = receivedAt != 0 ? receivedAt : _services.Time.GetTimestamp();
            _services.Telemetry.Preempted(_call.UseCase.Id, PreemptionOutcome.Hit, _services.Time.GetElapsedTime(held.StartedAt, arrived).TotalMilliseconds);
            return held;
        }

        _services.Telemetry.Preempted(_call.UseCase.Id, PreemptionOutcome.Miss);
        held.Dispose();
        return null;
    }

    private void StopStableTimer()
    {
        _stableTimer?.Dispose();
        _stableTimer = null;
        _stableGeneration++;
    }

    private void DropHeld(string outcome)
    {
        if (_held is { } held)
        {
            _held = null;
            _services.Telemetry.Preempted(_call.UseCase.Id, outcome);
            held.Dispose();
        }
    }
}

/// <summary>How a preemptive answer ended (the <c>outcome</c> tag of voiceagent.preemptive.answers).</summary>
internal static class PreemptionOutcome
{
    public const string Hit = "hit";
    public const string Miss = "miss";
    public const string Superseded = "superseded";
    public const string Dropped = "dropped";
}
