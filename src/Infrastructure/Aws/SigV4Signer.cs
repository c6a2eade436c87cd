using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using VoiceAgent.Infrastructure.Buffers;

namespace VoiceAgent.Infrastructure.Aws;

/// <summary>
/// AWS Signature Version 4 for the hot path: a JSON POST to one service in one region, signed over its accept,
/// content-type, host, x-amz-content-sha256, x-amz-date and (with session credentials) x-amz-security-token headers.
/// Signs what the SDK's <c>AWSSigV4Signer</c> signs for the same request, byte for byte (a test holds the two
/// together), without its per-request work: the signing key is derived once per credentials and day (not four HMACs a
/// request), the canonical request is written into a pooled buffer rather than built from dictionaries, sorted lists
/// and a <see cref="Uri"/> walk.
/// </summary>
internal sealed class SigV4Signer(string region, string service)
{
    private const string Algorithm = "AWS4-HMAC-SHA256";
    private const string Hex = "0123456789ABCDEF";
    private SigningKey? _key;
    private DateStamp? _stamp;
    private Target? _target;

    /// <summary>
    /// Adds <c>x-amz-date</c>, <c>x-amz-content-sha256</c>, <c>x-amz-security-token</c> (session credentials),
    /// <c>x-amz-target</c> (when given: the operation of a JSON-RPC service such as DynamoDB) and <c>Authorization</c>
    /// to <paramref name="request"/>, whose content type and accept header are the given values.
    /// </summary>
    public void Sign(HttpRequestMessage request, ReadOnlySpan<byte> body, string contentType, string accept, ImmutableCredentials credentials, DateTimeOffset now, string? target = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var uri = TargetOf(request.RequestUri ?? throw new ArgumentException("The request has no URI.", nameof(request)));
        var (amzDate, scope) = Stamp(now);
        var day = amzDate.AsSpan(0, 8);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(body, hash);
        var payloadHash = Convert.ToHexStringLower(hash);
        var token = credentials.UseToken ? credentials.Token : null;

        using (var canonical = new PooledUtf8(1024 + (token?.Length ?? 0)))
        {
            canonical.Append(request.Method.Method).Append('\n');
            canonical.Append(uri.CanonicalPath);
            canonical.Append("\n\n"); // no query string
            canonical.Append("accept:").Append(accept).Append('\n');
            canonical.Append("content-type:").Append(contentType).Append('\n');
            canonical.Append("host:").Append(uri.Host).Append('\n');
            canonical.Append("x-amz-content-sha256:").Append(payloadHash).Append('\n');
            canonical.Append("x-amz-date:").Append(amzDate).Append('\n');
            if (token is not null)
            {
                canonical.Append("x-amz-security-token:").Append(token).Append('\n');
            }

            if (target is not null)
            {
                canonical.Append("x-amz-target:").Append(target).Append('\n');
            }

            canonical.Append('\n').Append(SignedHeaders(token is not null, target is not null)).Append('\n').Append(payloadHash);
            SHA256.HashData(canonical.Written, hash);
        }

        Span<byte> signature = stackalloc byte[32];
        using (var stringToSign = new PooledUtf8(128 + scope.Length))
        {
            stringToSign.Append(Algorithm).Append('\n').Append(amzDate).Append('\n').Append(scope).Append('\n').AppendHex(hash);
            HMACSHA256.HashData(KeyFor(credentials, day), stringToSign.Written, signature);
        }

        var headers = request.Headers;
        headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        headers.TryAddWithoutValidation("X-Amz-Content-SHA256", payloadHash);
        if (token is not null)
        {
            headers.TryAddWithoutValidation("X-Amz-Security-Token", token);
        }

        if (target is not null)
        {
            headers.TryAddWithoutValidation("X-Amz-Target", target);
        }

        headers.TryAddWithoutValidation("Authorization", Authorization(credentials.AccessKey, scope, SignedHeaders(token is not null, target is not null), signature));
    }

    /// <summary>The Authorization header's value, made in one string (it is the longest a request carries).</summary>
    private static string Authorization(string accessKey, string scope, string signedHeaders, ReadOnlySpan<byte> signature)
    {
        const string credential = " Credential=", headers = ", SignedHeaders=", signed = ", Signature=";
        var length = Algorithm.Length + credential.Length + accessKey.Length + 1 + scope.Length + headers.Length + signedHeaders.Length + signed.Length + (signature.Length * 2);
        Span<char> text = length <= 512 ? stackalloc char[length] : new char[length];
        var at = 0;
        foreach (var part in (ReadOnlySpan<string>)[Algorithm, credential, accessKey, "/", scope, headers, signedHeaders, signed])
        {
            part.CopyTo(text[at..]);
            at += part.Length;
        }

        Convert.TryToHexStringLower(signature, text[at..], out _);
        return new string(text);
    }

    /// <summary>
    /// What the signature needs of a request's URI (its canonical path and host), worked out again only for another
    /// URI object: the clients send to a few URIs they keep.
    /// </summary>
    private Target TargetOf(Uri uri)
    {
        if (_target is { } target && ReferenceEquals(target.Uri, uri))
        {
            return target;
        }

        using var path = new PooledUtf8(64);
        AppendCanonicalPath(path, uri.AbsolutePath);
        target = new Target(uri, Encoding.ASCII.GetString(path.Written), uri.IsDefaultPort ? uri.Host : uri.Authority);
        _target = target;
        return target;
    }

    private sealed record Target(Uri Uri, string CanonicalPath, string Host);

    /// <summary>
    /// The request's x-amz-date and credential scope: made again only when the second changes (a busy service signs
    /// many requests a second, and both are strings the signature and its headers need).
    /// </summary>
    private (string AmzDate, string Scope) Stamp(DateTimeOffset now)
    {
        var second = now.UtcTicks / TimeSpan.TicksPerSecond;
        if (_stamp is { } stamp && stamp.Second == second)
        {
            return (stamp.AmzDate, stamp.Scope);
        }

        var amzDate = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var scope = string.Concat(amzDate.AsSpan(0, 8), $"/{region}/{service}/aws4_request");
        _stamp = new DateStamp(second, amzDate, scope);
        return (amzDate, scope);
    }

    private sealed record DateStamp(long Second, string AmzDate, string Scope);

    private static string SignedHeaders(bool token, bool target) => (token, target) switch
    {
        (false, false) => "accept;content-type;host;x-amz-content-sha256;x-amz-date",
        (true, false) => "accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
        (false, true) => "accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target",
        (true, true) => "accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target",
    };

    /// <summary>The derived key for these credentials on this day: computed when either changes, else reused.</summary>
    private byte[] KeyFor(ImmutableCredentials credentials, ReadOnlySpan<char> day)
    {
        var key = _key;
        if (key is not null && day.SequenceEqual(key.Day)
            && string.Equals(key.AccessKey, credentials.AccessKey, StringComparison.Ordinal)
            && string.Equals(key.SecretKey, credentials.SecretKey, StringComparison.Ordinal))
        {
            return key.Key;
        }

        var dayText = day.ToString();
        var derived = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + credentials.SecretKey), Encoding.UTF8.GetBytes(dayText));
        derived = HMACSHA256.HashData(derived, Encoding.UTF8.GetBytes(region));
        derived = HMACSHA256.HashData(derived, Encoding.UTF8.GetBytes(service));
        derived = HMACSHA256.HashData(derived, "aws4_request"u8);
        _key = new SigningKey(credentials.AccessKey, credentials.SecretKey, dayText, derived);
        return derived;
    }

    /// <summary>
    /// The canonical URI of a service other than S3: every segment of the (already percent-encoded) path is
    /// percent-encoded once more, so a model id's <c>%3A</c> is signed as <c>%253A</c>.
    /// </summary>
    private static void AppendCanonicalPath(PooledUtf8 canonical, string path)
    {
        if (path.Length == 0)
        {
            canonical.Append('/');
            return;
        }

        // The path is already percent-encoded ASCII: a byte is a char.
        foreach (var c in path)
        {
            if (c is '/' || char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                canonical.Append(c);
            }
            else
            {
                canonical.Append('%').Append(Hex[(c >> 4) & 0xF]).Append(Hex[c & 0xF]);
            }
        }
    }

    private sealed record SigningKey(string AccessKey, string SecretKey, string Day, byte[] Key);

    /// <summary>ASCII/UTF-8 text appended to a pooled buffer.</summary>
    private sealed class PooledUtf8(int capacity) : IDisposable
    {
        private readonly PooledBufferWriter _buffer = new(capacity);

        public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

        public PooledUtf8 Append(char c)
        {
            _buffer.GetSpan(1)[0] = (byte)c;
            _buffer.Advance(1);
            return this;
        }

        public PooledUtf8 Append(ReadOnlySpan<char> text)
        {
            var span = _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
            _buffer.Advance(Encoding.UTF8.GetBytes(text, span));
            return this;
        }

        public PooledUtf8 AppendHex(ReadOnlySpan<byte> bytes)
        {
            var span = _buffer.GetSpan(bytes.Length * 2);
            Convert.TryToHexStringLower(bytes, span, out var written);
            _buffer.Advance(written);
            return this;
        }

        public void Dispose() => _buffer.Dispose();
    }
}
