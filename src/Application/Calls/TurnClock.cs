using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Calls;

/// <summary>
/// Timestamps (TimeProvider ticks) of one turn's stages, noted by whoever sees them — the loop, the model round, the
/// tool round, the transport — and turned into <see cref="TurnTimings"/> when the loop closes the turn.
/// </summary>
public sealed class TurnClock
{
    private readonly Lock _lock = new();
    private long _modelRequest;
    private long _firstModelToken;
    private long _firstText;
    private long _lastText;
    private long _interrupted;
    private TimeSpan _tools;
    private int _toolCalls;
    private int _rounds;
    private int _fallbacks;
    private string? _profile;
    private List<string>? _events;
    private bool _answerWritten;

    /// <summary>A model request went out (the first one counts); a preemptive answer's may precede the prompt.</summary>
    public void ModelRequested(long at)
    {
        lock (_lock)
        {
            _rounds++;
            if (_modelRequest == 0)
            {
                _modelRequest = at;
            }
        }
    }

    public void ModelTokenArrived(long at)
    {
        lock (_lock)
        {
            if (_firstModelToken == 0)
            {
                _firstModelToken = at;
            }
        }
    }

    /// <summary>A model call finished: the profile that answered, after passing over <paramref name="fallbacks"/>.</summary>
    public void ModelAnswered(string? profile, int fallbacks)
    {
        lock (_lock)
        {
            _profile = profile ?? _profile;
            _fallbacks += fallbacks;
        }
    }

    /// <summary>A text frame of the answer was written to Twilio (<paramref name="last"/>: the answer's final one).</summary>
    public void TextWritten(long at, bool last = false)
    {
        lock (_lock)
        {
            if (_firstText == 0)
            {
                _firstText = at;
            }

            _lastText = at;
            _answerWritten |= last;
        }
    }

    public void Interrupted(long at)
    {
        lock (_lock)
        {
            if (_interrupted == 0)
            {
                _interrupted = at;
            }
        }
    }

    public void ToolRan(TimeSpan elapsed)
    {
        lock (_lock)
        {
            _tools += elapsed;
            _toolCalls++;
        }
    }

    /// <summary>One of Twilio's info or error frames arrived during the turn.</summary>
    public void RelayEvent(string text)
    {
        lock (_lock)
        {
            _events ??= [];
            if (_events.Count < TurnTimings.MaxRelayEvents)
            {
                _events.Add(text);
            }
        }
    }

    /// <summary>The stages in milliseconds from <paramref name="startedAt"/> (the prompt's arrival).</summary>
    public TurnTimings ToTimings(long startedAt, TimeProvider time) => ToTimings(startedAt, time, out _);

    /// <summary>
    /// The stages, and whether the answer's final text frame was among them (its timings are then complete), read at
    /// the same instant: a frame the transport writes meanwhile is in both or in neither.
    /// </summary>
    public TurnTimings ToTimings(long startedAt, TimeProvider time, out bool answerWritten)
    {
        ArgumentNullException.ThrowIfNull(time);
        int? Ms(long at) => at == 0 ? null : (int)Math.Round(time.GetElapsedTime(startedAt, at).TotalMilliseconds);
        lock (_lock)
        {
            answerWritten = _answerWritten;
            return new TurnTimings
            {
                ModelRequestMs = Ms(_modelRequest),
                FirstModelTokenMs = Ms(_firstModelToken),
                FirstTextMs = Ms(_firstText),
                LastTextMs = Ms(_lastText),
                InterruptedMs = Ms(_interrupted),
                ToolMs = (int)Math.Round(_tools.TotalMilliseconds),
                ToolCalls = _toolCalls,
                ModelRounds = _rounds,
                Profile = _profile,
                Fallbacks = _fallbacks,
                RelayEvents = _events is null ? [] : [.. _events],
            };
        }
    }
}
