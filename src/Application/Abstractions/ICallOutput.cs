using VoiceAgent.Application.Calls;

namespace VoiceAgent.Application.Abstractions;

/// <summary>
/// The way back to the caller for one relay session. Messages of a turn carry that turn; the transport drops
/// them once the turn is cancelled, so nothing of an interrupted answer is spoken after the interrupt.
/// </summary>
public interface ICallOutput
{
    ValueTask SendAsync(OutboundMessage message, TurnHandle? turn, CancellationToken cancellationToken);
}

public abstract record OutboundMessage;

/// <summary>Text for Twilio to speak. <paramref name="Last"/> marks the end of an answer.</summary>
public sealed record SpeakText(
    string Token,
    bool Last,
    string? Lang = null,
    bool? Interruptible = null,
    bool? Preemptible = null) : OutboundMessage;

/// <summary>Play an audio file by URL.</summary>
public sealed record PlayMedia(string Source, int? Loop = null, bool? Interruptible = null, bool? Preemptible = null) : OutboundMessage;

/// <summary>Send DTMF tones into the call (e.g. to an IVR).</summary>
public sealed record SendDigits(string Digits) : OutboundMessage;

/// <summary>Switch the speech and/or transcription language mid-call.</summary>
public sealed record SwitchLanguage(string? TtsLanguage, string? TranscriptionLanguage) : OutboundMessage;

/// <summary>End the relay session; Twilio then calls the Connect action URL with <paramref name="HandoffData"/>.</summary>
public sealed record EndRelay(string? HandoffData) : OutboundMessage;
