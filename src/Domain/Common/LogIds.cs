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

    /// <summary>
    /// A store key as logs may show it: the CallSid or phone number in it masked ("CALLER#+*******1234",
    /// "CALL#CA…89abcdef").
    /// </summary>
    public static string Key(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "?";
        }

        var hash = key.IndexOf('#', StringComparison.Ordinal);
        if (hash < 0)
        {
            return key;
        }

        var id = key[(hash + 1)..];
        var masked = id.StartsWith('+') ? PhoneNumbers.Mask(id) : id.StartsWith("CA", StringComparison.Ordinal) ? Call(id) : id;
        return string.Concat(key.AsSpan(0, hash + 1), masked);
    }
}
