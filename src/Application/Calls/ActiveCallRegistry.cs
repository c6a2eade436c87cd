using System.Collections.Concurrent;

namespace VoiceAgent.Application.Calls;

/// <summary>The calls whose relay session is open on this instance.</summary>
public interface IActiveCallRegistry
{
    int Count { get; }

    void Add(ActiveCall call);

    bool TryGet(string callSid, out ActiveCall? call);

    void Remove(ActiveCall call);

    IReadOnlyCollection<ActiveCall> Snapshot();
}

internal sealed class ActiveCallRegistry : IActiveCallRegistry
{
    private readonly ConcurrentDictionary<string, ActiveCall> _calls = new(StringComparer.Ordinal);

    public int Count => _calls.Count;

    public void Add(ActiveCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        _calls.AddOrUpdate(call.CallSid, call, (_, existing) =>
        {
            // A newer session of the same call took over: the old one's loop stops.
            existing.Close();
            return call;
        });
    }

    public bool TryGet(string callSid, out ActiveCall? call) => _calls.TryGetValue(callSid, out call);

    public void Remove(ActiveCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        _calls.TryRemove(new KeyValuePair<string, ActiveCall>(call.CallSid, call));
    }

    public IReadOnlyCollection<ActiveCall> Snapshot() => _calls.Values.ToArray();
}
