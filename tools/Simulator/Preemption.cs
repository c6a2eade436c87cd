using System.Diagnostics;
using System.Globalization;

namespace VoiceAgent.Simulator;

/// <summary>
/// Callers who speak as Twilio's partialPrompts report them: the utterance grows word by word (a partial every
/// 150-300 ms), and the final prompt follows the last partial after Twilio's end-of-speech wait (200-500 ms). What
/// is measured is what the caller perceives: from the final prompt to the first answer token.
/// </summary>
internal static class Preemption
{
    public static async Task<int> RunAsync(Options o, CancellationToken ct)
    {
        var words = o.Prompt.TrimEnd('.', '!', '?').Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var until = Stopwatch.StartNew();
        var duration = TimeSpan.FromSeconds(o.Seconds);
        var warmup = TimeSpan.FromSeconds(o.WarmupSeconds);
        var perceived = new List<double>();
        var errors = 0;
        var calls = Enumerable.Range(0, o.Calls).Select(async i =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(2000.0 * i / o.Calls), ct);
                await using var call = new RelayConnection();
                await call.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+1555" + (2000000 + i).ToString(CultureInfo.InvariantCulture), Modes.Dialled, ct);
                await call.SetupAsync(ct);
                var local = new List<double>();
                while (until.Elapsed < duration && !ct.IsCancellationRequested)
                {
                    var measured = until.Elapsed >= warmup;
                    for (var k = 1; k <= words.Length; k++)
                    {
                        await call.SendBytesAsync(RelayConnection.PromptBytes(string.Join(' ', words[..k]), last: false), ct);
                        await Task.Delay(k < words.Length ? Random.Shared.Next(150, 301) : Random.Shared.Next(200, 501), ct);
                    }

                    var sent = Stopwatch.GetTimestamp();
                    await call.SendBytesAsync(RelayConnection.PromptBytes(o.Prompt), ct);
                    var first = true;
                    while (await call.ReceiveSummaryAsync(ct) is { } frame)
                    {
                        if (first && frame.TextLength > 0)
                        {
                            if (measured)
                            {
                                local.Add(Stopwatch.GetElapsedTime(sent, frame.ReceivedAt).TotalMilliseconds);
                            }

                            first = false;
                        }

                        if (frame.Last)
                        {
                            break;
                        }
                    }

                    await Task.Delay(o.ThinkMs / 2 + Random.Shared.Next(o.ThinkMs), ct);
                }

                lock (perceived)
                {
                    perceived.AddRange(local);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.Increment(ref errors);
            }
        });
        await Task.WhenAll(calls);
        perceived.Sort();
        var quick = perceived.Count(ms => ms < 50);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"calls={o.Calls} seconds={until.Elapsed.TotalSeconds:0.0} turns={perceived.Count} errors={errors} perceived ms (final prompt -> first token) p50={Modes.P(perceived, 50):0.0} p95={Modes.P(perceived, 95):0.0} p99={Modes.P(perceived, 99):0.0} max={Modes.P(perceived, 100):0.0} under-50ms={(perceived.Count == 0 ? 0 : 100.0 * quick / perceived.Count):0.0}%"));
        return errors == 0 ? 0 : 1;
    }
}
