using System.ComponentModel.DataAnnotations;

namespace VoiceAgent.Api.Relay;

/// <summary>The ConversationRelay WebSocket. Bound from the "Relay" section and validated on start.</summary>
public sealed class RelayOptions
{
    public const string SectionName = "Relay";

    /// <summary>The largest inbound frame accepted; larger ones are discarded and count as bad frames.</summary>
    [Range(1_024, 16 * 1024 * 1024, ErrorMessage = "Relay:MaxFrameBytes must be between 1 KiB and 16 MiB.")]
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>Bad frames in a row before the socket is closed with 1007, as Twilio does.</summary>
    [Range(1, 1_000, ErrorMessage = "Relay:MaxConsecutiveBadFrames must be between 1 and 1000.")]
    public int MaxConsecutiveBadFrames { get; set; } = 5;

    /// <summary>Outbound frames buffered per call before a turn waits for the socket.</summary>
    [Range(8, 65_536, ErrorMessage = "Relay:SendQueueCapacity must be between 8 and 65536.")]
    public int SendQueueCapacity { get; set; } = 512;

    /// <summary>Server ping interval, so load balancers keep idle calls open.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Relay:KeepAliveInterval must be between 1 s and 10 min.")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long to wait for a pong before the peer counts as gone; zero disables the check.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Relay:KeepAliveTimeout must be between 0 and 10 min.")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// On shutdown, how long live calls may go on before they are handed to another instance. The host's shutdown
    /// timeout is set 15 s above it; keep the load balancer's deregistration delay at least this long.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Relay:DrainTimeout must be between 50 ms and 10 min.")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Said to a caller who is handed to another instance during a shutdown.</summary>
    [Required(ErrorMessage = "Relay:DrainLine is required.")]
    public string DrainLine { get; set; } = "One moment please, I'm moving your call.";

    /// <summary>How long closing a session waits for its turn and its send loop.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Relay:CloseTimeout must be between 100 ms and 1 min.")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
