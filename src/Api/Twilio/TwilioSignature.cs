using System.Security.Cryptography;
using System.Text;

namespace VoiceAgent.Api.Twilio;

/// <summary>
/// X-Twilio-Signature: base64(HMAC-SHA1(authToken, url + each key+value, keys in ordinal order)).
/// Checked in constant time, against the URL with and without its default port, as Twilio's helpers do.
/// </summary>
public static class TwilioSignature
{
    public static string Compute(string authToken, string url, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        ArgumentNullException.ThrowIfNull(authToken);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(parameters);

        var data = new StringBuilder(url);
        var sorted = parameters.ToList();
        sorted.Sort(static (a, b) =>
        {
            var byKey = string.CompareOrdinal(a.Key, b.Key);
            return byKey != 0 ? byKey : string.CompareOrdinal(a.Value, b.Value);
        });
        foreach (var (key, value) in sorted)
        {
            data.Append(key).Append(value);
        }

#pragma warning disable CA5350 // Twilio's signature scheme is defined as HMAC-SHA1; we verify it, we do not choose it.
        var mac = HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(data.ToString()));
#pragma warning restore CA5350
        return Convert.ToBase64String(mac);
    }

    /// <summary>True when <paramref name="signature"/> signs <paramref name="url"/> and the form parameters.</summary>
    public static bool IsValid(string authToken, string url, IEnumerable<KeyValuePair<string, string>> parameters, string? signature)
    {
        if (string.IsNullOrEmpty(signature) || string.IsNullOrEmpty(authToken))
        {
            return false;
        }

        var list = parameters as IReadOnlyCollection<KeyValuePair<string, string>> ?? parameters.ToList();
        var expected = Encoding.ASCII.GetBytes(signature);
        var matched = false;
        foreach (var candidate in PortVariants(url))
        {
            var actual = Encoding.ASCII.GetBytes(Compute(authToken, candidate, list));
            matched |= CryptographicOperations.FixedTimeEquals(actual, expected);
        }

        return matched;
    }

    /// <summary>
    /// A JSON-bodied request: the URL carries bodySHA256 (hex SHA-256 of the body) and is signed with no
    /// parameters; both must hold.
    /// </summary>
    public static bool IsValidWithBody(string authToken, string url, string body, string? signature)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!IsValid(authToken, url, [], signature))
        {
            return false;
        }

        var query = new Uri(url).Query;
        var claimed = System.Web.HttpUtility.ParseQueryString(query)["bodySHA256"];
        if (claimed is null)
        {
            return false;
        }

        var actual = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(actual), Encoding.ASCII.GetBytes(claimed.ToLowerInvariant()));
    }

    /// <summary>The URL as given, plus the same URL with its default port added or removed (text otherwise untouched).</summary>
    internal static IEnumerable<string> PortVariants(string url)
    {
        yield return url;
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            yield break;
        }

        var defaultPort = url[..schemeEnd].ToLowerInvariant() switch
        {
            "https" or "wss" => "443",
            "http" or "ws" => "80",
            _ => null,
        };
        if (defaultPort is null)
        {
            yield break;
        }

        var authorityStart = schemeEnd + 3;
        var authorityEnd = url.AsSpan(authorityStart).IndexOfAny('/', '?', '#');
        authorityEnd = authorityEnd < 0 ? url.Length : authorityStart + authorityEnd;
        var authority = url[authorityStart..authorityEnd];
        var hostStart = authority.LastIndexOf('@') + 1;
        var colon = authority.LastIndexOf(':');
        var hasPort = colon >= hostStart && colon > authority.LastIndexOf(']');
        if (!hasPort)
        {
            yield return string.Concat(url.AsSpan(0, authorityEnd), ":", defaultPort, url.AsSpan(authorityEnd));
        }
        else if (string.Equals(authority[(colon + 1)..], defaultPort, StringComparison.Ordinal))
        {
            yield return string.Concat(url.AsSpan(0, authorityStart + colon), url.AsSpan(authorityEnd));
        }
    }
}
