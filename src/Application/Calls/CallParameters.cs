namespace VoiceAgent.Application.Calls;

/// <summary>Custom parameters the TwiML hands to the relay session, which returns them in its setup message.</summary>
public static class CallParameters
{
    public const string UseCaseId = "useCaseId";

    public const string CallerName = "callerName";
}
