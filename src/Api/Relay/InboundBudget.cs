using VoiceAgent.Application.Common;

namespace VoiceAgent.Api.Relay;

/// <summary>A relay session's inbound byte budget: a token bucket a second deep. Used by the session's receive loop only.</summary>
internal struct InboundBudget
{
    private double _inboundBudget;
    private long _inboundAt;

    /// <summary>
    /// Takes <paramref name="bytes"/> from the session's inbound budget (a token bucket of Relay:MaxInboundBytesPerSecond,
    /// a second deep); returns how long reading must pause for the budget to recover (zero almost always).
    /// </summary>
    public TimeSpan Spend(int bytes, long now, long bytesPerSecond, ConversationTelemetry clock)
    {
        var rate = (double)bytesPerSecond;
        if (_inboundAt == 0)
        {
            _inboundBudget = rate;
        }
        else
        {
            _inboundBudget = Math.Min(rate, _inboundBudget + (clock.ElapsedSeconds(_inboundAt, now) * rate));
        }

        _inboundAt = now;
        _inboundBudget -= bytes;
        return _inboundBudget >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_inboundBudget / rate);
    }
}
