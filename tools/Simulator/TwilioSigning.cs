using System.Security.Cryptography;
using System.Text;

namespace VoiceAgent.Simulator;

/// <summary>
/// Signs a request as Twilio does (X-Twilio-Signature): HMAC-SHA1, keyed by the auth token, over the full URL followed
/// by each form parameter's name and value, sorted by name. Written from Twilio's public description, not taken from
/// the service: the simulator talks to the service only through the public wire protocol, so a service that checks
/// signatures wrongly fails here, as it would with Twilio.
/// </summary>
internal static class TwilioSigning
{
    public static string Sign(string authToken, string url, IEnumerable<KeyValuePair<string, string>> form)
    {
        var signed = new StringBuilder(url);
        foreach (var (name, value) in form.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal))
        {
            signed.Append(name).Append(value);
        }

#pragma warning disable CA5350 // Twilio's signature is HMAC-SHA1 by definition; the simulator imitates it.
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(signed.ToString())));
#pragma warning restore CA5350
    }
}
