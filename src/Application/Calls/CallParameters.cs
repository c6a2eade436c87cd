namespace VoiceAgent.Application.Calls;

/// <summary>Custom parameters the TwiML hands to the relay session, which returns them in its setup message.</summary>
public static class CallParameters
{
    public const string UseCaseId = "useCaseId";

    public const string CallerName = "callerName";

    /// <summary>
    /// The language a handed-over call had switched to (one of the use case's languages): the new session starts
    /// in it and hands it on again.
    /// </summary>
    public const string Language = "language";
}
