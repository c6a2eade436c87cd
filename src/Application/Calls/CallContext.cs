namespace VoiceAgent.Application.Calls;

/// <summary>
/// What the signed incoming-call webhook (or the service itself, for a reconnect) established about a call: who
/// called, which number they dialled, and which use case answers. A relay session gets it from its sealed,
/// single-use relay ticket, never from the relay's own <c>setup</c> message.
/// </summary>
/// <param name="CallSid">Twilio's id of the call.</param>
/// <param name="From">The caller's number as the webhook gave it.</param>
/// <param name="To">The number the caller dialled.</param>
/// <param name="UseCaseId">The use case chosen when the call was answered.</param>
/// <param name="Parameters">Values for <c>{{param.*}}</c> placeholders (caller name, a handed-over language).</param>
/// <param name="Resume">A reconnect of a live call (drain hand-over): the session reads the stored history.</param>
public sealed record CallContext(
    string CallSid,
    string From,
    string To,
    string UseCaseId,
    IReadOnlyDictionary<string, string> Parameters,
    bool Resume = false);
