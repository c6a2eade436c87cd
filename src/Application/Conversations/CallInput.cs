using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Tools;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// Everything that can happen to a call, as an event for its loop: what the caller does, what its timers and the
/// turn's work report, and what the session asks. Posted by anyone; read by the call's loop alone.
/// </summary>
internal abstract record CallInput
{
    /// <summary>A prompt frame: partial (the utterance so far) or final. <paramref name="ReceivedAt"/> is a TimeProvider timestamp.</summary>
    public sealed record Prompt(string Text, bool Last, long ReceivedAt) : CallInput;

    /// <summary>The caller barged in, having heard <paramref name="Heard"/> of the answer.</summary>
    public sealed record Interrupt(string Heard, long DurationMs) : CallInput;

    /// <summary>One of Twilio's info or error frames, as "info: …" / "error: …" (redacted, cut).</summary>
    public sealed record RelayEvent(string Text) : CallInput;

    /// <summary>The transport wrote the last text frame of <paramref name="Turn"/>'s answer.</summary>
    public sealed record TurnSpoken(TurnHandle Turn) : CallInput;

    /// <summary>A key press.</summary>
    public sealed record Digit(string Value) : CallInput;

    /// <summary>A partial prompt stayed the same for Conversation:PreemptAfter (stale unless <paramref name="Generation"/> is current).</summary>
    public sealed record PartialStable(int Generation) : CallInput;

    /// <summary>
    /// The background summary of messages [<paramref name="From"/>, <paramref name="Cut"/>) is written (null: it
    /// failed, the history stays verbatim until the next try).
    /// </summary>
    public sealed record Summarized(int From, int Cut, string? Summary, TokenUsage? Usage = null, decimal Cost = 0) : CallInput;

    /// <summary>No key followed within the inter-digit timeout (stale unless <paramref name="Generation"/> is the current one).</summary>
    public sealed record DigitsTimedOut(int Generation) : CallInput;

    /// <summary>The caller said nothing for the use case's silence timeout (stale unless <paramref name="Generation"/> is current).</summary>
    public sealed record SilenceElapsed(int Generation) : CallInput;

    /// <summary>A model round (or a fixed line) of <paramref name="Turn"/> finished streaming, however it ended.</summary>
    public sealed record RoundStreamed(TurnHandle Turn, RoundOutcome Outcome) : CallInput;

    /// <summary>The tools of <paramref name="Turn"/>'s last round finished; every tool use has its result.</summary>
    public sealed record ToolsInvoked(TurnHandle Turn, ToolResultBlock[] Results, bool EndsTurn) : CallInput;

    /// <summary>A tool a key press asked for finished (null: it could not run).</summary>
    public sealed record DtmfToolInvoked(string Pressed, DtmfInvokeTool Action, ToolInvocation? Invocation) : CallInput;

    /// <summary>A cancelled turn did not wind down within Conversation:SupersedeWait.</summary>
    public sealed record CloseWaitElapsed(TurnHandle Turn) : CallInput;

    /// <summary>The instance is handing the call over: cancel the turn, start no new one, then complete <paramref name="Done"/>.</summary>
    public sealed record HandOver(TaskCompletionSource Done) : CallInput;

    /// <summary>Complete <paramref name="Done"/> once nothing is running.</summary>
    public sealed record IdleWanted(TaskCompletionSource Done) : CallInput;

    /// <summary>The relay session is over.</summary>
    public sealed record SessionClosed : CallInput
    {
        public static readonly SessionClosed Instance = new();
    }
}

/// <summary>How a model round ended: with tool uses to run (or refused), failed (the apology was said), or done.</summary>
/// <paramref name="Reasoning"/>: the model's reasoning that led to the tool uses, recorded ahead of them.
internal sealed record RoundOutcome(IReadOnlyList<ContentBlock>? ToolUses = null, bool Failed = false, IReadOnlyList<ContentBlock>? Reasoning = null)
{
    public static readonly RoundOutcome Done = new();

    public static readonly RoundOutcome Failure = new(Failed: true);
}
