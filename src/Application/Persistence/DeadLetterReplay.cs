using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Application.Persistence;

/// <summary>
/// Writes dead letters to the store again (the <c>replay-dead-letters</c> command), once an operator has fixed what
/// made the store refuse them. Letters that land are removed; the rest stay, with the reason logged.
/// </summary>
public sealed partial class DeadLetterReplay(IDeadLetterStore letters, ICallRepository repository, ILogger<DeadLetterReplay> logger)
{
    public async Task<(int Replayed, int Kept)> ReplayAsync(CancellationToken cancellationToken)
    {
        var all = await letters.ReadAllAsync(cancellationToken).ConfigureAwait(false);
        var landed = new List<string>();
        foreach (var letter in all)
        {
            try
            {
                var entry = DeadLetters.Parse(letter);
                await repository.WriteAsync(JournalEntries.Coalesce(entry.CallSid, [entry]), cancellationToken).ConfigureAwait(false);
                landed.Add(letter);
            }
            catch (FormatException ex)
            {
                Log.Unreadable(logger, ex.Message);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.StillRefused(logger, ex.GetType().Name, ex.Message);
            }
        }

        await letters.RemoveAsync(landed, cancellationToken).ConfigureAwait(false);
        return (landed.Count, all.Count - landed.Count);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3020, Level = LogLevel.Warning, Message = "A dead letter could not be read and was kept: {Reason}")]
        public static partial void Unreadable(ILogger logger, string reason);

        [LoggerMessage(EventId = 3021, Level = LogLevel.Warning, Message = "A dead letter was refused again and kept ({Error}: {Reason})")]
        public static partial void StillRefused(ILogger logger, string error, string reason);
    }
}
