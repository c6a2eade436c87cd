namespace VoiceAgent.Application.Abstractions;

/// <summary>
/// Writes the store refused for good, kept (one JSON document each) where an operator can read them and replay them
/// once the cause is fixed.
/// </summary>
public interface IDeadLetterStore
{
    Task AddAsync(string letter, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>Forgets <paramref name="letters"/> (a replay stored them); letters added meanwhile are kept.</summary>
    Task RemoveAsync(IReadOnlyCollection<string> letters, CancellationToken cancellationToken);
}
