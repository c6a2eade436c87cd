using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace VoiceAgent.Api.Twilio;

/// <summary>
/// What an unsigned or forged request may cost before it is refused. Webhook bodies are capped at
/// Twilio:MaxWebhookBytes (413 before a byte is read when the length is announced; Kestrel stops a longer chunked body),
/// and a client whose requests keep failing the signature (or relay ticket) check is answered 429 before any work, by a
/// fixed-window rate limiter per client address that only failures consume (Twilio:SignatureFailuresPerMinute).
/// Behind a load balancer the client address is the one it forwards (Http:TrustForwardedHeaders).
/// </summary>
internal sealed partial class WebhookGuard : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures;
    private readonly TwilioOptions _options;
    private readonly ILogger<WebhookGuard> _logger;

    public WebhookGuard(IOptions<TwilioOptions> options, ILogger<WebhookGuard> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger;
        var limit = _options.SignatureFailuresPerMinute;
        _failures = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetFixedWindowLimiter(
            client,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true }));
    }

    /// <summary>The body is too large for a webhook: answer 413 without reading it. Caps what Kestrel will read otherwise.</summary>
    public bool RefuseLargeBody(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Also stops Kestrel from draining an unread oversize body after the 413: it closes the connection instead.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = _options.MaxWebhookBytes;
        }

        return context.Request.ContentLength > _options.MaxWebhookBytes;
    }

    /// <summary>This client used up its failures for now: answer 429 before checking anything.</summary>
    public bool IsBlocked(HttpContext context) => IsBlocked(Client(context));

    /// <summary>As <see cref="IsBlocked(HttpContext)"/>, for a client address read below the HTTP layer.</summary>
    public bool IsBlocked(string client) =>
        _failures.GetStatistics(client) is { CurrentAvailablePermits: <= 0 };

    /// <summary>A request from this client failed the signature or ticket check.</summary>
    public void Failed(HttpContext context) => Failed(Client(context));

    /// <summary>As <see cref="Failed(HttpContext)"/>, for a client address read below the HTTP layer.</summary>
    public void Failed(string client)
    {
        using var lease = _failures.AttemptAcquire(client);
        if (!lease.IsAcquired)
        {
            Log.Blocked(_logger, client, _options.SignatureFailuresPerMinute);
        }
    }

    public void Dispose() => _failures.Dispose();

    /// <summary>The client address the failures are counted under (the forwarded one behind a load balancer).</summary>
    public static string Client(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Client(context.Connection.RemoteIpAddress);
    }

    /// <summary>The same, from an address.</summary>
    public static string Client(IPAddress? address) => address?.ToString() ?? IPAddress.None.ToString();

    private static partial class Log
    {
        [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Client {Client} failed more than {Limit} signature checks in a minute; refusing it with 429 for now")]
        public static partial void Blocked(ILogger logger, string client, int limit);
    }
}
