using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using VoiceAgent.Simulator;

// VoiceAgent caller simulator: plays Twilio's side of ConversationRelay against any URL.
//   chat   --url ws://127.0.0.1:5080/ws [--to +15550006000]      type to speak, "!" barges in, "#123" sends digits, "/quit"
//   script --url ... --file scenarios/order.json                  scripted steps with expectations; exit 1 on a failed one
//   load   --url ... --calls 100 --seconds 20 [--think-ms 1000] [--warmup-seconds 4] [--turn-log FILE]
//   preempt --url ... --calls 20 --seconds 30: speaks as Twilio's partialPrompts do (the utterance word by word, then
//          the final 200-500 ms after the last partial) and reports perceived latency, final prompt to first token
//                                                                 N concurrent calls; prompt→first-token percentiles
//                                                                 (after the warm-up, while all calls are up), frames/s
//   idle   --url ... --calls 10000 --seconds 30                   N set-up calls that say nothing (memory per idle call)
//   bargein --url ... --turns 200                                 interrupt after the first token; interrupt→last-token latency
//   fault  --url ... --calls 50 --turns 1000                      50 sessions send 1000 bad frames while a good call talks
//   attack --url ... [--only replay,bare,forged,crossbound,expired,flood,body,burst]
//                                                                 attacks on the call path, each with its expected refusal
//   eval DIR [DIR...] --url ... [--runs 3] [--api-key K] [--judge-url U --judge-model M] [--min-pass-rate 1]
//                                                                 eval scenarios (src/Modules/*/evals): each N times,
//                                                                 pass rates per scenario in eval-results/*.md and *.json
//   floor  --url http://127.0.0.1:5199                           a server that answers every prompt at once: the floor
//                                                                 that load mode measures without the service
// Every call is placed as Twilio places it: POST /twiml, then the WebSocket at the relay URL its TwiML names.
// Options: --auth-token T (sign like Twilio) --public-url https://voice.example.com (the service's Twilio:PublicBaseUrl,
// which signatures cover; default: --url)

// Socket completions run on the socket thread, not after a hop to the thread pool: a frame is timed when it is read,
// and the simulator spends less of the CPU it shares with the service in benchmarks. Read once, before the first
// socket; the environment can still turn it off with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

if (args.Length > 0 && args[0] == "eval")
{
    using var cancelEval = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancelEval.Cancel();
    };
    return await VoiceAgent.Simulator.Evals.EvalCommand.MainAsync(args, Console.Out, cancelEval.Token);
}

var options = Options.Parse(args);
if (options.Mode is null || options.Url is null)
{
    Console.Error.WriteLine("usage: simulator <chat|script|eval|load|idle|bargein|fault|attack|floor> --url ws://host/ws [--auth-token T] [--public-url U] [--file F] [--calls N] [--seconds S] [--turns N]");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return options.Mode switch
{
    "chat" => await Modes.ChatAsync(options, stop.Token),
    "script" => await Modes.ScriptAsync(options, stop.Token),
    "load" => await Modes.LoadAsync(options, stop.Token),
    "idle" => await Modes.IdleAsync(options, stop.Token),
    "bargein" => await Modes.BargeInAsync(options, stop.Token),
    "preempt" => await Preemption.RunAsync(options, stop.Token),
    "fault" => await Modes.FaultAsync(options, stop.Token),
    "attack" => await Attacks.RunAsync(options, stop.Token),
    "floor" => await FloorServer.RunAsync(options.Url, stop.Token),
    _ => 2,
};

internal sealed record Options(string? Mode, Uri? Url, string? AuthToken, Uri? PublicUrl, string? File, int Calls, int Seconds, int Turns, string Prompt, int ThinkMs, int WarmupSeconds, string? TurnLog = null, string? Only = null, string? To = null)
{
    public static Options Parse(string[] args)
    {
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        int Number(string name, int fallback) => int.TryParse(Value(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : fallback;
        var url = Value("--url");
        return new Options(
            args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : null,
            url is null ? null : new Uri(url),
            Value("--auth-token"),
            Value("--public-url") is { } publicUrl ? new Uri(publicUrl) : null,
            Value("--file"),
            Number("--calls", 10),
            Number("--seconds", 10),
            Number("--turns", 100),
            Value("--prompt") ?? "A large pepperoni for pickup, please.",
            Number("--think-ms", 1000),
            Number("--warmup-seconds", 4),
            Value("--turn-log"),
            Value("--only"),
            Value("--to"));
    }
}

internal static class Modes
{
    /// <summary>The number simulated calls dial (the webhook's To) unless --to names another: the pizza line.</summary>
    public const string Dialled = "+15550009999";

    public static async Task<int> ChatAsync(Options o, CancellationToken ct)
    {
        await using var call = new RelayConnection();
        await call.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+15550001234", o.To ?? Modes.Dialled, ct);
        await call.SetupAsync(ct);
        var heard = new StringBuilder();
        var receiving = Task.Run(async () =>
        {
            while (await call.ReceiveAsync(ct) is { } frame)
            {
                var text = RelayConnection.Describe(frame);
                lock (heard)
                {
                    heard.Append(RelayConnection.Text(frame));
                }

                Console.Write(text);
                if (RelayConnection.IsLast(frame))
                {
                    Console.WriteLine();
                }
            }

            Console.WriteLine("[closed by the service]");
        }, ct);

        Console.WriteLine($"Connected as {call.CallSid}. Type to speak; '!' barges in; '#123' sends digits; /quit leaves.");
        while (!ct.IsCancellationRequested && await Console.In.ReadLineAsync(ct) is { } line)
        {
            if (line == "/quit")
            {
                break;
            }

            if (line == "!")
            {
                string soFar;
                lock (heard)
                {
                    soFar = heard.ToString();
                    heard.Clear();
                }

                await call.InterruptAsync(soFar, 500, ct);
                Console.WriteLine("[barged in]");
            }
            else if (line.StartsWith('#'))
            {
                foreach (var digit in line[1..])
                {
                    await call.DigitAsync(digit, ct);
                }
            }
            else if (line.Length > 0)
            {
                lock (heard)
                {
                    heard.Clear();
                }

                await call.PromptAsync(line, ct);
            }
        }

        await call.DisposeAsync();
        await Task.WhenAny(receiving, Task.Delay(1000, CancellationToken.None));
        return 0;
    }

    /// <summary>
    /// A JSON array of steps: {"say": "..."} waits for the whole answer; {"expect": "regex"} checks the last answer;
    /// {"dtmf": "12#"}; {"interrupt": "heard text"} after the first token of the next answer; {"waitMs": 500}.
    /// </summary>
    public static async Task<int> ScriptAsync(Options o, CancellationToken ct)
    {
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(o.File ?? throw new ArgumentException("--file is required"), ct));
        await using var call = new RelayConnection();
        await call.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+15550001234", o.To ?? Modes.Dialled, ct);
        await call.SetupAsync(ct);
        var last = string.Empty;
        var failures = 0;
        foreach (var step in document.RootElement.EnumerateArray())
        {
            if (step.TryGetProperty("say", out var say))
            {
                Console.WriteLine($"caller> {say.GetString()}");
                await call.PromptAsync(say.GetString()!, ct);
                last = await AnswerAsync(call, ct);
                Console.WriteLine($"agent>  {last}");
            }
            else if (step.TryGetProperty("dtmf", out var dtmf))
            {
                foreach (var digit in dtmf.GetString()!)
                {
                    await call.DigitAsync(digit, ct);
                }

                last = await AnswerAsync(call, ct);
                Console.WriteLine($"agent>  {last}");
            }
            else if (step.TryGetProperty("interrupt", out var interrupt))
            {
                await call.ReceiveAsync(ct);
                await call.InterruptAsync(interrupt.GetString()!, 400, ct);
                Console.WriteLine("caller> [barges in]");
            }
            else if (step.TryGetProperty("expect", out var expect))
            {
                var ok = Regex.IsMatch(last, expect.GetString()!, RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
                failures += ok ? 0 : 1;
                Console.WriteLine(ok ? $"  ok: /{expect.GetString()}/" : $"  FAILED: /{expect.GetString()}/ not in \"{last}\"");
            }
            else if (step.TryGetProperty("waitMs", out var wait))
            {
                await Task.Delay(wait.GetInt32(), ct);
            }
        }

        Console.WriteLine(failures == 0 ? "scenario passed" : $"scenario failed: {failures} expectation(s)");
        return failures == 0 ? 0 : 1;
    }

    public static async Task<int> LoadAsync(Options o, CancellationToken ct)
    {
        var firstToken = new List<double>();
        long frames = 0, bytes = 0, errors = 0, turns = 0, warmupTurns = 0;
        var until = Stopwatch.StartNew();
        var duration = TimeSpan.FromSeconds(o.Seconds);

        // Calls arrive over the first two seconds; turns that start before the warm-up is over are not measured.
        var warmup = TimeSpan.FromSeconds(o.WarmupSeconds);
        var prompt = RelayConnection.PromptBytes(o.Prompt);
        var gcPauseBefore = GC.GetTotalPauseDuration();
        var gcBefore = GC.CollectionCount(0);
        var answered = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var calls = Enumerable.Range(0, o.Calls).Select(async i =>
        {
            try
            {
                // Calls arrive over the first two seconds, as they would, rather than in one burst.
                await Task.Delay(TimeSpan.FromMilliseconds(2000.0 * i / o.Calls), ct);
                await using var call = new RelayConnection();
                await call.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+1555" + (1000000 + i).ToString(CultureInfo.InvariantCulture), Modes.Dialled, ct);
                await call.SetupAsync(ct);
                var local = new List<double>();
                while (until.Elapsed < duration && !ct.IsCancellationRequested)
                {
                    var measured = until.Elapsed >= warmup;
                    var sent = Stopwatch.GetTimestamp();
                    var sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    await call.SendBytesAsync(prompt, ct);
                    var first = true;
                    var firstTokenMs = double.NaN;
                    while (await call.ReceiveSummaryAsync(ct) is { } frame)
                    {
                        if (first && frame.TextLength > 0)
                        {
                            firstTokenMs = Stopwatch.GetElapsedTime(sent, frame.ReceivedAt).TotalMilliseconds;
                            if (measured)
                            {
                                local.Add(firstTokenMs);
                            }
                            else
                            {
                                Interlocked.Increment(ref warmupTurns);
                            }

                            first = false;
                        }

                        if (frame.IsText)
                        {
                            Interlocked.Increment(ref frames);
                            Interlocked.Add(ref bytes, frame.TextLength);
                        }

                        if (frame.Last)
                        {
                            if (o.TurnLog is not null)
                            {
                                answered.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{call.CallSid} {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} {sentAt} {firstTokenMs:0.000}"));
                            }

                            break;
                        }
                    }

                    Interlocked.Increment(ref turns);

                    // A caller listens and thinks before speaking again; spread so calls do not move in lockstep.
                    if (o.ThinkMs > 0)
                    {
                        await Task.Delay(o.ThinkMs / 2 + Random.Shared.Next(o.ThinkMs), ct);
                    }
                }

                lock (firstToken)
                {
                    firstToken.AddRange(local);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.Increment(ref errors);
            }
        });
        // The machine's stolen CPU over the measured window (from the end of the warm-up to the last turn).
        var window = Task.Run(async () =>
        {
            await Task.Delay(warmup, ct);
            return HostCpu.Sample();
        }, ct);
        // The simulator's own longest collection pause, and when (s from the start): a pause here delays every turn
        // it measures, so a long one is told apart from a stall of the service.
        var (longestPause, longestAt) = (TimeSpan.Zero, 0.0);
        using var watching = new CancellationTokenSource();
        var pauses = Task.Run(async () =>
        {
            var last = GC.GetTotalPauseDuration();
            while (!watching.IsCancellationRequested)
            {
                await Task.Delay(10, CancellationToken.None);
                var now = GC.GetTotalPauseDuration();
                if (now - last > longestPause)
                {
                    (longestPause, longestAt) = (now - last, until.Elapsed.TotalSeconds);
                }

                last = now;
            }
        }, CancellationToken.None);
        await Task.WhenAll(calls);
        await watching.CancelAsync();
        await pauses;
        if (o.TurnLog is not null)
        {
            // Every answered turn: the call, when its last frame arrived and when its prompt was sent (unix ms), and its
            // prompt→first-token ms: for the crash bench, and to see when the slow turns of a run happened.
            await File.WriteAllLinesAsync(o.TurnLog, answered, CancellationToken.None);
        }

        var steal = HostCpu.StealPercent(await window, HostCpu.Sample());
        var elapsed = until.Elapsed.TotalSeconds;
        var gcPause = GC.GetTotalPauseDuration() - gcPauseBefore;
        var gcCount = GC.CollectionCount(0) - gcBefore;
        firstToken.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"calls={o.Calls} seconds={elapsed:0.0} turns={turns} measured={firstToken.Count} (after {o.WarmupSeconds} s warm-up: {warmupTurns} not measured) errors={errors} prompt->first-token ms p50={P(firstToken, 50):0.000} p95={P(firstToken, 95):0.000} p99={P(firstToken, 99):0.000} p99.9={P(firstToken, 99.9):0.000} max={P(firstToken, 100):0.000} text-frames/s={frames / elapsed:0} text-bytes/s={bytes / elapsed:0} simulator-gcs={gcCount} simulator-gc-pause-ms={gcPause.TotalMilliseconds:0.0} simulator-gc-longest-ms={longestPause.TotalMilliseconds:0.0}@{longestAt:0.0}s host-cpu-steal={steal:0.0}%"));
        return errors == 0 ? 0 : 1;
    }

    public static async Task<int> IdleAsync(Options o, CancellationToken ct)
    {
        var connections = new List<RelayConnection>(o.Calls);
        var errors = 0;
        foreach (var batch in Enumerable.Range(0, o.Calls).Chunk(200))
        {
            var opened = await Task.WhenAll(batch.Select(async i =>
            {
                var call = new RelayConnection();
                try
                {
                    await call.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+1555" + (1000000 + i).ToString(CultureInfo.InvariantCulture), Modes.Dialled, ct);
                    await call.SetupAsync(ct);
                    return call;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Interlocked.Increment(ref errors);
                    await call.DisposeAsync();
                    return null;
                }
            }));
            connections.AddRange(opened.OfType<RelayConnection>());
        }

        Console.WriteLine($"idle calls open: {connections.Count} (errors {errors}); holding {o.Seconds} s");
        await Task.Delay(TimeSpan.FromSeconds(o.Seconds), ct);
        foreach (var batch in connections.Chunk(500))
        {
            await Task.WhenAll(batch.Select(c => c.DisposeAsync().AsTask()));
        }

        return errors == 0 ? 0 : 1;
    }

    public static async Task<int> BargeInAsync(Options o, CancellationToken ct)
    {
        await using var call = new RelayConnection();
        await call.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+15550001234", Modes.Dialled, ct);
        await call.SetupAsync(ct);

        // One reader owns the socket (cancelling a WebSocket receive would abort it); frames arrive with their time.
        var frames = System.Threading.Channels.Channel.CreateUnbounded<(long At, JsonElement Frame)>();
        var reader = Task.Run(async () =>
        {
            while (await call.ReceiveAsync(ct) is { } frame)
            {
                await frames.Writer.WriteAsync((Stopwatch.GetTimestamp(), frame), ct);
            }

            frames.Writer.TryComplete();
        }, ct);

        var latencies = new List<double>();
        for (var turn = 0; turn < o.Turns && !ct.IsCancellationRequested; turn++)
        {
            await call.PromptAsync(o.Prompt, ct);
            await frames.Reader.ReadAsync(ct);
            var interrupted = Stopwatch.GetTimestamp();
            await call.InterruptAsync("Sure,", 300, ct);
            var lastToken = 0.0;
            while (true)
            {
                // Frames of the interrupted answer already in flight still arrive; 150 ms of quiet ends the count.
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(ct);
                quiet.CancelAfter(TimeSpan.FromMilliseconds(150));
                try
                {
                    var (at, _) = await frames.Reader.ReadAsync(quiet.Token);
                    lastToken = Stopwatch.GetElapsedTime(interrupted, at).TotalMilliseconds;
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    break;
                }
            }

            latencies.Add(Math.Max(0, lastToken));
        }

        latencies.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"turns={latencies.Count} interrupt->last-token ms p50={P(latencies, 50):0.000} p99={P(latencies, 99):0.000} max={P(latencies, 100):0.000}"));
        return 0;
    }

    /// <summary>
    /// <paramref name="o"/>.Calls misbehaving sessions share <paramref name="o"/>.Turns bad frames (malformed, unknown,
    /// oversized, binary, out of order) while one good call keeps talking. The service must close the bad ones with
    /// 1007, keep the good one answering, and stay healthy.
    /// </summary>
    public static async Task<int> FaultAsync(Options o, CancellationToken ct)
    {
        string[] garbage =
        [
            "{not json", "{\"type\":\"bogus\"}", "{\"type\":\"prompt\",\"voicePrompt\":\"before setup\"}", "[]", "null",
            "{\"type\":\"dtmf\",\"digit\":\"xx\"}", "{\"type\":\"interrupt\",\"durationUntilInterruptMs\":\"soon\"}", "{\"type\":\"setup\"}",
            "{\"type\":\"prompt\",\"voicePrompt\":\"" + new string('x', 100_000) + "\"}",
        ];
        await using var good = new RelayConnection();
        await good.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+15550001234", Modes.Dialled, ct);
        await good.SetupAsync(ct);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
        int goodTurns = 0, goodErrors = 0;
        var talking = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                try
                {
                    await good.PromptAsync(o.Prompt, ct);
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(TimeSpan.FromSeconds(10));
                    while (await good.ReceiveAsync(timeout.Token) is { } frame && !RelayConnection.IsLast(frame))
                    {
                    }

                    goodTurns++;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    goodErrors++;
                    return;
                }
            }
        }, CancellationToken.None);

        var share = Math.Max(1, o.Turns / Math.Max(1, o.Calls));
        int sent = 0, closed1007 = 0, otherEnds = 0;
        await Task.WhenAll(Enumerable.Range(0, o.Calls).Select(async i =>
        {
            await using var bad = new RelayConnection();
            await bad.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+1555" + (2000000 + i).ToString(CultureInfo.InvariantCulture), Dialled, ct);
            if (i % 2 == 0)
            {
                await bad.SetupAsync(ct);
            }

            try
            {
                for (var f = 0; f < share; f++)
                {
                    if (f % 7 == 3)
                    {
                        await bad.SendBinaryAsync([0xde, 0xad, 0xbe, 0xef], ct);
                    }
                    else
                    {
                        await bad.SendRawAsync(garbage[(i + f) % garbage.Length], ct);
                    }

                    Interlocked.Increment(ref sent);
                }

                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                while (await bad.ReceiveAsync(timeout.Token) is not null)
                {
                }
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or OperationCanceledException)
            {
                // Closed under us: counted below.
            }

            if (bad.CloseStatus == System.Net.WebSockets.WebSocketCloseStatus.InvalidPayloadData)
            {
                Interlocked.Increment(ref closed1007);
            }
            else
            {
                Interlocked.Increment(ref otherEnds);
            }
        }));

        await Task.Delay(1000, ct);
        await done.CancelAsync();
        await talking;
        var health = new UriBuilder(o.Url!) { Scheme = o.Url!.Scheme == "wss" ? "https" : "http", Path = "/health/live" }.Uri;
        using var http = new HttpClient();
        var healthy = (await http.GetAsync(health, ct)).IsSuccessStatusCode;
        Console.WriteLine($"bad_sessions={o.Calls} bad_frames={sent} closed_1007={closed1007} other_ends={otherEnds} good_turns={goodTurns} good_errors={goodErrors} good_socket={good.State} service_healthy={healthy}");
        return healthy && goodErrors == 0 && good.State == System.Net.WebSockets.WebSocketState.Open ? 0 : 1;
    }

    /// <summary>The <paramref name="percentile"/>th of <paramref name="sorted"/> (nearest rank); NaN without samples.</summary>
    internal static double P(List<double> sorted, double percentile) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static async Task<string> AnswerAsync(RelayConnection call, CancellationToken ct)
    {
        var text = new StringBuilder();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (await call.ReceiveAsync(timeout.Token) is { } frame)
        {
            text.Append(RelayConnection.Describe(frame));
            if (RelayConnection.IsLast(frame) || frame.GetProperty("type").GetString() == "end")
            {
                break;
            }
        }

        return text.ToString();
    }
}
