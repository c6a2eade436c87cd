namespace VoiceAgent.Domain.Common;

/// <summary>
/// Identifiers as logs may show them. A CallSid is masked to its last eight characters ("CA…89abcdef"): enough to
/// follow one call through the logs, not enough to act on it with Twilio's API.
/// </summary>
public static class LogIds
{
    private const int Kept = 8;

    public static string Call(string? callSid)
    {
        if (string.IsNullOrEmpty(callSid))
        {
            return "(none)";
        }

        return callSid.Length <= Kept + 2 ? new string('*', callSid.Length) : string.Concat(callSid.AsSpan(0, 2), "…", callSid.AsSpan(callSid.Length - Kept));
    }
}
