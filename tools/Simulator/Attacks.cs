using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;

namespace VoiceAgent.Simulator;

/// <summary>
/// The attacks of issue 12 against a running service, each with the refusal it must meet. One line per attack:
/// what was tried, what came back, and whether that is what the service must do. Exit 1 when any is not.
/// </summary>
internal static class Attacks
{
    public static async Task<int> RunAsync(Options o, CancellationToken ct)
    {
        var only = o.Only?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var failed = 0;
        foreach (var (name, attack) in new (string, Func<Options, CancellationToken, Task<(bool Ok, string Result)>>)[]
        {
            ("replay", ReplayAsync),
            ("bare", BareAsync),
            ("forged", ForgedAsync),
            ("crossbound", CrossBoundAsync),
            ("expired", ExpiredAsync),
            ("flood", FloodAsync),
            ("body", BodyAsync),
            ("burst", BurstAsync),
        })
        {
            if (only is not null && !only.Contains(name))
            {
                continue;
            }

            var (ok, result) = await attack(o, ct);
            failed += ok ? 0 : 1;
            Console.WriteLine($"{name}: {result} -> {(ok ? "as required" : "NOT AS REQUIRED")}");
        }

        return failed == 0 ? 0 : 1;
    }

    /// <summary>A captured upgrade (URL and signature) used again while its call is live and after it ended.</summary>
    private static async Task<(bool, string)> ReplayAsync(Options o, CancellationToken ct)
    {
        var victim = new RelayConnection();
        await victim.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+15550001234", Modes.Dialled, ct);
        await victim.SetupAsync(ct);
        var signature = Sign(o, victim.RelayUrl!);
        var whileLive = await TryOpenAsync(o, victim.RelayUrl!, signature, ct);
        await victim.DisposeAsync();
        await Task.Delay(500, ct);
        var afterEnd = await TryOpenAsync(o, victim.RelayUrl!, signature, ct);
        return (whileLive == 403 && afterEnd == 403, $"replayed upgrade while live {whileLive}, after the end {afterEnd}");
    }

    /// <summary>The old fixed relay URL, correctly signed.</summary>
    private static async Task<(bool, string)> BareAsync(Options o, CancellationToken ct)
    {
        var bare = PublicBase(o).Replace("http", "ws", StringComparison.Ordinal) + "/ws";
        var status = await TryOpenAsync(o, bare, Sign(o, bare), ct);
        return (status == 403, $"signed upgrade of the bare /ws {status}");
    }

    /// <summary>A genuine ticket with one character changed, signed anew (as if the auth token had leaked).</summary>
    private static async Task<(bool, string)> ForgedAsync(Options o, CancellationToken ct)
    {
        await using var call = new RelayConnection();
        var url = await call.AnswerAsync(RelayConnection.HttpBase(o.Url!), o.AuthToken, o.PublicUrl ?? RelayConnection.HttpBase(o.Url!), "+15550001234", Modes.Dialled, ct);
        var at = url.IndexOf("ticket=", StringComparison.Ordinal) + 20;
        var forged = url[..at] + (url[at] == 'A' ? 'B' : 'A') + url[(at + 1)..];
        var status = await TryOpenAsync(o, forged, Sign(o, forged), ct);
        return (status == 403, $"altered ticket {status}");
    }

    /// <summary>A genuine session whose setup names another, live call.</summary>
    private static async Task<(bool, string)> CrossBoundAsync(Options o, CancellationToken ct)
    {
        await using var victim = new RelayConnection();
        await victim.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+15550001234", Modes.Dialled, ct);
        await victim.SetupAsync(ct);
        await victim.PromptAsync("My card number is on file, please reorder.", ct);
        await DrainAnswerAsync(victim, ct);
        await using var attacker = new RelayConnection();
        await attacker.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+15550006666", Modes.Dialled, ct);
        await attacker.SetupAsync(ct, victim.CallSid);
        await attacker.PromptAsync("What did I just order?", ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var heard = 0;
        try
        {
            while (await attacker.ReceiveAsync(timeout.Token) is not null)
            {
                heard++;
            }
        }
        catch (WebSocketException)
        {
            // Closed under us.
        }

        var close = attacker.CloseStatus;
        return (close == WebSocketCloseStatus.PolicyViolation && heard == 0, $"setup naming another live call: closed {(int?)close} after {heard} frames");
    }

    /// <summary>A ticket used after its lifetime (the service runs with a short Relay:TicketLifetime for this).</summary>
    private static async Task<(bool, string)> ExpiredAsync(Options o, CancellationToken ct)
    {
        await using var call = new RelayConnection();
        var url = await call.AnswerAsync(RelayConnection.HttpBase(o.Url!), o.AuthToken, o.PublicUrl ?? RelayConnection.HttpBase(o.Url!), "+15550001234", Modes.Dialled, ct);
        var wait = TimeSpan.FromSeconds(o.Seconds);
        await Task.Delay(wait, ct);
        var status = await TryOpenAsync(o, url, Sign(o, url), ct);
        return (status == 403, $"ticket used {wait.TotalSeconds:0} s after its TwiML {status}");
    }

    /// <summary>
    /// One call floods large partial prompts while another talks: the other call's prompt→first-token latency with
    /// and without the flood.
    /// </summary>
    private static async Task<(bool, string)> FloodAsync(Options o, CancellationToken ct)
    {
        await using var good = new RelayConnection();
        await good.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+15550001234", Modes.Dialled, ct);
        await good.SetupAsync(ct);
        var quiet = await TurnsAsync(good, o.Turns, ct);

        await using var flooding = new RelayConnection();
        await flooding.ConnectAsync(o.Url!, o.AuthToken, o.PublicUrl, "+15550007777", Modes.Dialled, ct);
        await flooding.SetupAsync(ct);
        var words = string.Join(' ', Enumerable.Repeat("pepperoni", 5_000))[..45_000];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        long partials = 0;
        var flood = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await flooding.SendAsync(new Dictionary<string, object> { ["type"] = "prompt", ["voicePrompt"] = words, ["last"] = false }, CancellationToken.None);
                partials++;
            }
        }, CancellationToken.None);
        var flooded = await TurnsAsync(good, o.Turns, ct);
        await stop.CancelAsync();
        await flood;
        var open = flooding.State == WebSocketState.Open;
        return (open && flooded.Errors == 0, string.Create(CultureInfo.InvariantCulture,
            $"other call's first token ms p50/p99 without flood {quiet.P50:0.00}/{quiet.P99:0.00}, during {partials} partials of 45 KB {flooded.P50:0.00}/{flooded.P99:0.00}; flooding call still open: {open}"));
    }

    /// <summary>
    /// Four 25 MB unsigned webhook bodies at once: two sent straight away (the service answers 413 and closes the
    /// connection, which the sender may see first), two with Expect: 100-continue (the 413 comes before any body).
    /// </summary>
    private static async Task<(bool, string)> BodyAsync(Options o, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var twiml = new Uri(RelayConnection.HttpBase(o.Url!), "/twiml");
        var started = Stopwatch.StartNew();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 4).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, twiml) { Content = new LazyBody(25 * 1024 * 1024) };
            request.Headers.ExpectContinue = i >= 2;
            try
            {
                using var response = await http.SendAsync(request, ct);
                return ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            catch (HttpRequestException)
            {
                return "closed";
            }
        }));
        var ok = statuses[..2].All(s => s is "413" or "closed") && statuses[2..].All(s => s == "413");
        return (ok, $"4 x 25 MB unsigned /twiml (2 straight, 2 expecting 100-continue): {string.Join(',', statuses)} in {started.ElapsedMilliseconds} ms");
    }

    /// <summary>Unsigned webhooks in a burst from one client.</summary>
    private static async Task<(bool, string)> BurstAsync(Options o, CancellationToken ct)
    {
        using var http = new HttpClient();
        var twiml = new Uri(RelayConnection.HttpBase(o.Url!), "/twiml");
        var counts = new Dictionary<int, int>();
        for (var i = 0; i < 40; i++)
        {
            using var response = await http.PostAsync(twiml, new FormUrlEncodedContent(new Dictionary<string, string> { ["CallSid"] = "CA" + i }), ct);
            counts[(int)response.StatusCode] = counts.GetValueOrDefault((int)response.StatusCode) + 1;
        }

        var summary = string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Value} x {c.Key}"));
        return (counts.ContainsKey((int)HttpStatusCode.TooManyRequests) && !counts.ContainsKey(200), $"40 unsigned webhooks: {summary}");
    }

    private static async Task<int> TryOpenAsync(Options o, string relayUrl, string? signature, CancellationToken ct)
    {
        await using var attempt = new RelayConnection();
        try
        {
            await attempt.OpenAsync(o.Url!, relayUrl, signature, ct);
            return 101;
        }
        catch (WebSocketException)
        {
            return attempt.UpgradeStatus;
        }
    }

    private static string? Sign(Options o, string url) => o.AuthToken is null ? null : TwilioSigning.Sign(o.AuthToken, url, []);

    private static string PublicBase(Options o) => (o.PublicUrl ?? RelayConnection.HttpBase(o.Url!)).ToString().TrimEnd('/');

    private static async Task<(double P50, double P99, int Errors)> TurnsAsync(RelayConnection call, int turns, CancellationToken ct)
    {
        var latencies = new List<double>();
        var errors = 0;
        for (var i = 0; i < turns; i++)
        {
            var sent = Stopwatch.GetTimestamp();
            await call.PromptAsync("A large pepperoni for pickup, please.", ct);
            try
            {
                var first = true;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                while (await call.ReceiveSummaryAsync(timeout.Token) is { } frame)
                {
                    if (first && frame.TextLength > 0)
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(sent, frame.ReceivedAt).TotalMilliseconds);
                        first = false;
                    }

                    if (frame.Last)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                errors++;
            }

            await Task.Delay(50, ct);
        }

        latencies.Sort();
        double At(double p) => latencies.Count == 0 ? double.NaN : latencies[Math.Clamp((int)Math.Ceiling(p / 100 * latencies.Count) - 1, 0, latencies.Count - 1)];
        return (At(50), At(99), errors);
    }

    private static async Task DrainAnswerAsync(RelayConnection call, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (await call.ReceiveAsync(timeout.Token) is { } frame && !RelayConnection.IsLast(frame))
        {
        }
    }

    /// <summary>A body of a given length made as it is sent.</summary>
    private sealed class LazyBody : HttpContent
    {
        private readonly long _length;

        public LazyBody(long length)
        {
            _length = length;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-www-form-urlencoded");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'a');
            for (long sent = 0; sent < _length; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, _length - sent)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
