using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;

namespace VoiceAgent.Api.Operations;

/// <summary>The operations API's settings ("Api").</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>Keys accepted besides those in the store: a name and the SHA-256 (hex) of the key — never the key.</summary>
    public List<ApiKeyHash> Keys { get; set; } = [];
}

/// <summary>One configured key: its name and the SHA-256 of the key, in hex.</summary>
public sealed class ApiKeyHash
{
    public string Name { get; set; } = string.Empty;

    public string Sha256 { get; set; } = string.Empty;
}

/// <summary>
/// Checks the key of an operations request (<c>Authorization: Bearer …</c> or <c>X-Api-Key</c>): its SHA-256 against
/// the configured hashes, then the store's; answers are remembered for a minute. Keys are never logged.
/// </summary>
internal sealed class ApiKeyAuthenticator(IApiKeyStore store, IOptions<ApiOptions> options, TimeProvider timeProvider)
{
    private static readonly TimeSpan Remember = TimeSpan.FromMinutes(1);

    private readonly ExpiringKeys _known = new(timeProvider);
    private readonly ExpiringKeys _unknown = new(timeProvider);

    /// <summary>A new key: "va_" and 32 random bytes (base64url), and its hash.</summary>
    public static (string Key, string Sha256) NewKey()
    {
        var key = "va_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (key, Hash(key));
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public async Task<bool> IsValidAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var key = request.Headers.Authorization.ToString() is { } authorization && authorization.StartsWith("Bearer ", StringComparison.Ordinal)
            ? authorization["Bearer ".Length..].Trim()
            : request.Headers["X-Api-Key"].ToString();
        if (key.Length is < 8 or > 256)
        {
            return false;
        }

        var hash = Hash(key);
        if (_known.Contains(hash))
        {
            return true;
        }

        if (_unknown.Contains(hash))
        {
            return false;
        }

        var valid = options.Value.Keys.Any(k => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(k.Sha256.ToLowerInvariant()), Encoding.ASCII.GetBytes(hash)))
            || await store.FindAsync(hash, cancellationToken).ConfigureAwait(false) is not null;
        (valid ? _known : _unknown).TryAdd(hash, timeProvider.GetUtcNow() + Remember);
        return valid;
    }
}

/// <summary>Refuses an operations request without a valid API key (401) before it reads anything.</summary>
internal sealed class ApiKeyFilter(ApiKeyAuthenticator authenticator) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        if (!await authenticator.IsValidAsync(http.Request, http.RequestAborted))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "A valid API key is required (Authorization: Bearer <key>).");
        }

        return await next(context);
    }
}
