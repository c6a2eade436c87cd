using System.ComponentModel.DataAnnotations;

namespace VoiceAgent.Api.Relay;

/// <summary>The ConversationRelay WebSocket. Bound from the "Relay" section and validated on start.</summary>
public sealed class RelayOptions : IValidatableObject
{
    public const string SectionName = "Relay";

    /// <summary>The largest inbound frame accepted; larger ones are discarded and count as bad frames.</summary>
    [Range(1_024, 16 * 1024 * 1024, ErrorMessage = "Relay:MaxFrameBytes must be between 1 KiB and 16 MiB.")]
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>Bad frames in a row before the socket is closed with 1007, as Twilio does.</summary>
    [Range(1, 1_000, ErrorMessage = "Relay:MaxConsecutiveBadFrames must be between 1 and 1000.")]
    public int MaxConsecutiveBadFrames { get; set; } = 5;

    /// <summary>
    /// Bytes a second one session may send us (bursts up to a second's worth). Past it the session's reads pause, so
    /// TCP slows that sender down and a flood of frames on one call cannot take the CPU other calls need. A relay
    /// session sends a few kilobytes a second.
    /// </summary>
    [Range(65_536, 1_073_741_824, ErrorMessage = "Relay:MaxInboundBytesPerSecond must be between 64 KiB and 1 GiB.")]
    public int MaxInboundBytesPerSecond { get; set; } = 1_048_576;

    /// <summary>Outbound frames buffered per call before a turn waits for the socket.</summary>
    [Range(8, 65_536, ErrorMessage = "Relay:SendQueueCapacity must be between 8 and 65536.")]
    public int SendQueueCapacity { get; set; } = 512;

    /// <summary>Server ping interval, so load balancers keep idle calls open.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Relay:KeepAliveInterval must be between 1 s and 10 min.")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long to wait for a pong before the peer counts as gone; zero disables the check.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Relay:KeepAliveTimeout must be between 0 and 10 min.")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary><see cref="KeepAliveTimeout"/> as the WebSocket takes it (zero: infinite).</summary>
    internal TimeSpan PongTimeout => KeepAliveTimeout == TimeSpan.Zero ? Timeout.InfiniteTimeSpan : KeepAliveTimeout;

    /// <summary>
    /// On shutdown, how long live calls may go on before they are handed to another instance. The host's shutdown
    /// timeout is set 15 s above it; keep the load balancer's deregistration delay at least this long.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Relay:DrainTimeout must be between 50 ms and 10 min.")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Said to a caller who is handed to another instance during a shutdown.</summary>
    [Required(ErrorMessage = "Relay:DrainLine is required.")]
    public string DrainLine { get; set; } = "One moment please, I'm moving your call.";

    /// <summary>
    /// The key material of relay tickets (at least 32 characters). Unset: derived from Twilio:AuthToken. Every instance
    /// of a deployment must share it.
    /// </summary>
    public string? TicketSecret { get; set; }

    /// <summary>The secret before the current one: its tickets still open while a rotation rolls out.</summary>
    public string? PreviousTicketSecret { get; set; }

    /// <summary>How long a relay ticket stays valid, from the TwiML that carries it to the WebSocket upgrade.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00", ErrorMessage = "Relay:TicketLifetime must be between 5 s and 30 min.")]
    public TimeSpan TicketLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long an upgrade waits for the store to record its ticket's use.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10", ErrorMessage = "Relay:TicketClaimTimeout must be between 10 ms and 10 s.")]
    public TimeSpan TicketClaimTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// When the store cannot record a ticket's use: false (default) admits the upgrade on this instance's memory of
    /// used tickets, so calls are still answered during a store outage; true refuses it (503).
    /// </summary>
    public bool RequireStoredTicketClaim { get; set; }

    /// <summary>
    /// True (default): a connection whose first request is a plain relay upgrade is served below Kestrel's HTTP/1
    /// layer, keeping only the socket, its pipes and the WebSocket for the call (about a third less memory per idle
    /// call). False: every upgrade goes through the /ws endpoint. Admission and the wire are the same either way.
    /// </summary>
    public bool ServeBelowHttp { get; set; } = true;

    /// <summary>How long closing a session waits for its turn and its send loop.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Relay:CloseTimeout must be between 100 ms and 1 min.")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TicketSecret is { Length: > 0 and < 32 })
        {
            yield return new ValidationResult("Relay:TicketSecret must be at least 32 characters.", [nameof(TicketSecret)]);
        }
    }
}
