using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using VoiceAgent.Api.Relay;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls;

namespace VoiceAgent.Integration.Tests;

/// <summary>
/// The relay over real sockets (Kestrel), both ways in: below Kestrel's HTTP layer (Relay:ServeBelowHttp, the default)
/// and through the /ws endpoint. Callers and Twilio must not tell them apart on the wire.
/// </summary>
public sealed class RelayOverSocketsTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    [Theory]
    [InlineData(true, null, "connection")]
    [InlineData(false, null, "http")]
    [InlineData(true, 100L, "http")]
    public async Task A_call_over_a_real_socket_is_answered_and_closed_by_the_way_in_configured(bool belowHttp, long? upgradeLimit, string transport)
    {
        // A limit on upgraded connections is Kestrel's HTTP layer's to count: with one set, upgrades stay there.
        await using var factory = Start(belowHttp, services: services => services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(
            kestrel => kestrel.Limits.MaxConcurrentUpgradedConnections = upgradeLimit));
        using var upgrades = new UpgradeCounter(factory);
        factory.Model.ThenSays("We're open ", "until ten ", "tonight.").ThenSays("Bye now.");

        await using (var twilio = await factory.ConnectOverSocketAsync(await factory.AnswerAsync()))
        {
            await twilio.SetupAsync();
            await twilio.PromptAsync("How late are you open?");
            Assert.Equal("We're open until ten tonight.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
            await twilio.PromptAsync("Thanks, bye.");
            Assert.Equal("Bye now.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        }

        // The caller hung up: the session ends and the call leaves the registry.
        await WaitForSessionsToCloseAsync(factory);
        Assert.Equal([transport], upgrades.Transports);
    }

    [Fact]
    public async Task Below_HTTP_a_server_span_stands_in_for_the_request_so_a_calls_turns_are_one_trace()
    {
        var stopped = new ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("VoiceAgent.", StringComparison.Ordinal),
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        // The listener hears every test's spans (test classes run side by side): this call is told apart by its own CallSid.
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        await using var factory = Start(belowHttp: true);
        factory.Model.ThenSays("Hello!").ThenSays("Bye now.");
        await using (var twilio = await factory.ConnectOverSocketAsync(await factory.AnswerAsync(callSid), callSid))
        {
            await twilio.SetupAsync();
            await twilio.PromptAsync("Hi");
            await twilio.ReceiveAnswerAsync();
            await twilio.PromptAsync("Bye");
            await twilio.ReceiveAnswerAsync();
        }

        await WaitForSessionsToCloseAsync(factory);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        List<System.Diagnostics.Activity> turns;
        System.Diagnostics.Activity? session;
        while ((turns = [.. stopped.Where(a => a.OperationName == "turn" && Equals(a.GetTagItem("voiceagent.call_sid"), callSid))]).Count < 2
            || (session = stopped.FirstOrDefault(a => a.Source.Name == "VoiceAgent.Relay" && a.SpanId == turns[0].ParentSpanId)) is null)
        {
            await Task.Delay(10, timeout.Token);
        }

        Assert.Equal(("GET /ws", System.Diagnostics.ActivityKind.Server), (session.DisplayName, session.Kind));
        Assert.Equal(101, session.GetTagItem("http.response.status_code"));
        Assert.Equal(2, turns.Count);
        Assert.All(turns, t => Assert.Equal((session.TraceId, session.SpanId), (t.TraceId, t.ParentSpanId)));
    }

    [Fact]
    public async Task The_101_and_each_refusal_are_the_same_bytes_both_ways_in_and_a_refused_connection_stays_open()
    {
        var answers = new Dictionary<bool, List<string>>();
        foreach (var belowHttp in new[] { true, false })
        {
            await using var factory = Start(belowHttp, new Dictionary<string, string?> { ["Twilio:SignatureFailuresPerMinute"] = "2" });
            using var upgrades = new UpgradeCounter(factory);
            var heads = answers[belowHttp] = [];
            var url = await factory.AnswerAsync();

            // Admitted: the handshake's answer; the socket then speaks WebSocket (the session waits for setup).
            using (var admitted = await RawConnection.OpenAsync(factory))
            {
                heads.Add(await admitted.ExchangeAsync(Upgrade(url, signed: true)));
            }

            await WaitForSessionsToCloseAsync(factory);

            // Refused: a used ticket (403), then the next request on the same connection is still answered.
            using (var replay = await RawConnection.OpenAsync(factory))
            {
                heads.Add(await replay.ExchangeAsync(Upgrade(url, signed: true)));
                heads.Add(await replay.ExchangeAsync("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
            }

            // A forged signature (403) twice uses up this client's failures: then 429 before any check.
            using (var forged = await RawConnection.OpenAsync(factory))
            {
                heads.Add(await forged.ExchangeAsync(Upgrade(url, signed: false)));
            }

            using (var blocked = await RawConnection.OpenAsync(factory))
            {
                heads.Add(await blocked.ExchangeAsync(Upgrade(url, signed: true)));
            }

            Assert.Equal([belowHttp ? "connection" : "http"], upgrades.Transports);
        }

        Assert.Equal(
            [
                $"HTTP/1.1 101 Switching Protocols|Connection: Upgrade|Date: *|Server: Kestrel|Upgrade: websocket|Sec-WebSocket-Accept: {RelayConnectionHandler.AcceptKey(Key)}",
                "HTTP/1.1 403 Forbidden|Content-Length: 0|Date: *|Server: Kestrel",
                "HTTP/1.1 200 OK|Content-Type: text/plain|Date: *|Server: Kestrel|Cache-Control: no-store, no-cache|Expires: Thu, 01 Jan 1970 00:00:00 GMT|Pragma: no-cache|Transfer-Encoding: chunked",
                "HTTP/1.1 403 Forbidden|Content-Length: 0|Date: *|Server: Kestrel",
                "HTTP/1.1 429 Too Many Requests|Content-Length: 0|Date: *|Server: Kestrel",
            ],
            answers[false]);
        Assert.Equal(answers[false], answers[true]);

        // RFC 6455's own example key and accept value.
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", RelayConnectionHandler.AcceptKey(Key));
    }

    [Fact]
    public async Task A_draining_instance_refuses_upgrades_below_HTTP_with_503()
    {
        await using var factory = Start(belowHttp: true);
        var url = await factory.AnswerAsync();
        factory.Get<RelayDrain>().Begin();
        using var connection = await RawConnection.OpenAsync(factory);
        Assert.StartsWith("HTTP/1.1 503 Service Unavailable|", await connection.ExchangeAsync(Upgrade(url, signed: true)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_served_below_HTTP_is_handed_over_when_the_instance_drains()
    {
        await using var factory = Start(belowHttp: true, new Dictionary<string, string?>
        {
            ["Relay:DrainTimeout"] = "00:00:00.300",
            ["Relay:CloseTimeout"] = "00:00:01",
        });
        factory.Model.ThenSays("Hello!");
        await using var twilio = await factory.ConnectOverSocketAsync(await factory.AnswerAsync());
        await twilio.SetupAsync();
        await twilio.PromptAsync("Hi");
        Assert.Equal("Hello!", RelayClient.Text(await twilio.ReceiveAnswerAsync()));

        factory.Get<RelayDrain>().Begin();
        var frames = await twilio.ReceiveUntilEndAsync();
        Assert.Equal(["text", "end"], frames.Select(f => f.GetProperty("type").GetString()));
        Assert.Equal("One moment please, I'm moving your call.", frames[0].GetProperty("token").GetString());
        Assert.Contains("server-draining", frames[1].GetProperty("handoffData").GetString(), StringComparison.Ordinal);

        // Twilio closes after end; then the session is gone.
        await twilio.DisposeAsync();
        await WaitForSessionsToCloseAsync(factory);
    }

    [Fact]
    public async Task A_head_that_arrives_in_pieces_is_still_served_below_HTTP_and_anything_else_is_Kestrels()
    {
        await using var factory = Start(belowHttp: true);
        using var upgrades = new UpgradeCounter(factory);
        factory.Model.ThenSays("Hello!");

        // Webhooks (the first request of their connections) went to Kestrel: AnswerAsync got its TwiML.
        var url = await factory.AnswerAsync();

        // Not a WebSocket request: Kestrel's /ws endpoint answers 400, as before.
        using (var plain = await RawConnection.OpenAsync(factory))
        {
            Assert.StartsWith("HTTP/1.1 400 Bad Request|", await plain.ExchangeAsync($"GET {new Uri(url).PathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), StringComparison.Ordinal);
        }

        // The upgrade in three writes, split inside the request line and inside a header.
        using var pieces = await RawConnection.OpenAsync(factory);
        var head = Upgrade(url, signed: true);
        await pieces.SendAsync(head[..5]);
        await Task.Delay(50);
        await pieces.SendAsync(head[5..60]);
        await Task.Delay(50);
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols|", await pieces.ExchangeAsync(head[60..]), StringComparison.Ordinal);
        Assert.Equal(["connection"], upgrades.Transports);
    }

    [Fact]
    public async Task A_connection_that_has_not_spoken_does_not_hold_up_a_shutdown()
    {
        var factory = Start(belowHttp: true);
        using var silent = await RawConnection.OpenAsync(factory);
        await Task.Delay(100);

        // Unasked, the handler would wait out Kestrel's header timeout (30 s) before the host could close the connection.
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await factory.DisposeAsync();
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"the shutdown took {stopping.Elapsed}");
        Assert.True(await silent.IsClosedAsync(), "the silent connection is still open");
    }

    [Theory]
    [InlineData("GET /ws?ticket=a HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + Key + "\r\nX-Twilio-Signature: c2ln\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\n\r\nrest", "?ticket=a", "c2ln", "10.0.0.1,10.0.0.2")]
    [InlineData("GET /ws HTTP/1.1\r\nhost: h\r\nupgrade: WebSocket\r\nconnection: upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key:" + Key + "\r\n\r\n", null, null, null)]
    public void A_plain_relay_upgrade_is_read_whole_even_across_segments(string text, string? query, string? signature, string? forwardedFor)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        foreach (var buffer in new[] { new System.Buffers.ReadOnlySequence<byte>(bytes), Segmented(bytes, 7) })
        {
            Assert.Equal(HeadVerdict.Ours, RelayUpgradeHead.TryRead(buffer, out var head, out var length));
            Assert.Equal(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4, length);
            Assert.Equal((query, signature, forwardedFor, Key), (head!.Query, head.Signature, head.ForwardedFor, head.Key));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("G")]
    [InlineData("GET /w")]
    [InlineData("GET /ws")]
    [InlineData("GET /ws?ticket=a HTTP/1.1\r\nHost: h\r\n")]
    public void A_head_that_may_still_become_a_relay_upgrade_waits_for_more(string text) =>
        Assert.Equal(HeadVerdict.NeedMore, RelayUpgradeHead.TryRead(new System.Buffers.ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)), out _, out _));

    [Theory]
    [InlineData("POST /twiml HTTP/1.1\r\n")]
    [InlineData("GET /health/live HTTP/1.1\r\n")]
    [InlineData("GET /wss HTTP/1.1\r\n")]
    [InlineData("GET /WS HTTP/1.1\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    [InlineData("\u0016\u0003\u0001\u0002")]
    [InlineData("GET /ws/x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: {key}\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nX-Twilio-Signature: a\r\nX-Twilio-Signature: b\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nX-Folded: a\r\n b\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nX-Bare: a\nb\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nBad Name: a\r\n\r\n")]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nX-Name: caf\u00e9\r\n\r\n")]
    public void Anything_but_a_plain_relay_upgrade_is_left_to_Kestrel(string text)
    {
        var bytes = Encoding.Latin1.GetBytes(text.Replace("{key}", Key, StringComparison.Ordinal));
        Assert.Equal(HeadVerdict.NotOurs, RelayUpgradeHead.TryRead(new System.Buffers.ReadOnlySequence<byte>(bytes), out _, out _));
    }

    [Fact]
    public void A_head_longer_than_8_KB_is_left_to_Kestrel_complete_or_not()
    {
        var head = $"GET /ws?ticket={new string('a', RelayUpgradeHead.MaxBytes)} HTTP/1.1\r\nHost: h\r\n";
        var bytes = Encoding.ASCII.GetBytes(head);
        Assert.Equal(HeadVerdict.NotOurs, RelayUpgradeHead.TryRead(new System.Buffers.ReadOnlySequence<byte>(bytes), out _, out _));
        bytes = Encoding.ASCII.GetBytes(head + $"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {Key}\r\n\r\n");
        Assert.Equal(HeadVerdict.NotOurs, RelayUpgradeHead.TryRead(new System.Buffers.ReadOnlySequence<byte>(bytes), out _, out _));
    }

    private static VoiceAgentFactory Start(bool belowHttp, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["Relay:ServeBelowHttp"] = belowHttp ? "true" : "false" };
        var factory = new VoiceAgentFactory(realModel: false, all) { TestServices = services };
        factory.UseKestrel(0);
        factory.StartServer();
        return factory;
    }

    private static string Upgrade(string relayUrl, bool signed)
    {
        var signature = signed ? TwilioSignature.Compute(VoiceAgentFactory.AuthToken, relayUrl, []) : "AAAA";
        return $"GET {new Uri(relayUrl).PathAndQuery} HTTP/1.1\r\nHost: voice.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {Key}\r\n{TwilioRequestValidator.SignatureHeader}: {signature}\r\n\r\n";
    }

    private static System.Buffers.ReadOnlySequence<byte> Segmented(byte[] bytes, int size)
    {
        Segment? first = null, last = null;
        for (var offset = 0; offset < bytes.Length; offset += size)
        {
            var next = new Segment(bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset)), last?.RunningIndex + last?.Memory.Length ?? 0);
            if (last is null)
            {
                first = next;
            }
            else
            {
                last.SetNext(next);
            }

            last = next;
        }

        return new System.Buffers.ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private static async Task WaitForSessionsToCloseAsync(VoiceAgentFactory factory)
    {
        var registry = factory.Get<IActiveCallRegistry>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (registry.Count > 0)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private sealed class Segment : System.Buffers.ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }

    /// <summary>The transport tag of each relay WebSocket the factory's host accepted.</summary>
    private sealed class UpgradeCounter : IDisposable
    {
        private readonly MeterListener _listener;
        private readonly ConcurrentQueue<string> _transports = new();

        public UpgradeCounter(VoiceAgentFactory factory)
        {
            var meters = factory.Services.GetRequiredService<IMeterFactory>();
            _listener = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Name == "voiceagent.relay.upgrades" && ReferenceEquals(instrument.Meter.Scope, meters))
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
                _transports.Enqueue(tags.ToArray().Single(t => t.Key == "transport").Value as string ?? "?"));
            _listener.Start();
        }

        public IReadOnlyList<string> Transports => [.. _transports];

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>One TCP connection to the host, speaking HTTP/1.1 by hand.</summary>
    private sealed class RawConnection : IDisposable
    {
        private readonly TcpClient _client;
        private readonly NetworkStream _stream;

        private RawConnection(TcpClient client)
        {
            _client = client;
            _stream = client.GetStream();
        }

        public static async Task<RawConnection> OpenAsync(VoiceAgentFactory factory)
        {
            var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, factory.SocketAddress.Port);
            return new RawConnection(client);
        }

        /// <summary>Whether the server closed the connection (a read returns 0 or fails within 10 s).</summary>
        public async Task<bool> IsClosedAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                return await _stream.ReadAsync(new byte[1], timeout.Token) == 0;
            }
            catch (IOException)
            {
                return true;
            }
        }

        public async Task SendAsync(string text) => await _stream.WriteAsync(Encoding.ASCII.GetBytes(text));

        /// <summary>Sends <paramref name="text"/>; the answer's status line and headers joined by '|', its Date as '*' (its body is read and dropped).</summary>
        public async Task<string> ExchangeAsync(string text)
        {
            await SendAsync(text);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var received = new List<byte>();
            var buffer = new byte[1];
            while (!received.AsEnumerable().Reverse().Take(4).SequenceEqual("\n\r\n\r"u8.ToArray()))
            {
                // One byte at a time: nothing after the head is taken from the stream.
                if (await _stream.ReadAsync(buffer, timeout.Token) == 0)
                {
                    throw new IOException($"closed after: {Encoding.ASCII.GetString([.. received])}");
                }

                received.Add(buffer[0]);
            }

            var lines = Encoding.ASCII.GetString([.. received]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.StartsWith("Date: ", StringComparison.Ordinal) ? "Date: *" : line)
                .ToList();
            if (lines.Contains("Transfer-Encoding: chunked"))
            {
                await ReadChunkedBodyAsync(timeout.Token);
            }

            return string.Join('|', lines);
        }

        public void Dispose()
        {
            _stream.Dispose();
            _client.Dispose();
        }

        private async Task ReadChunkedBodyAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[1];
            var tail = new List<byte>();
            while (!tail.AsEnumerable().Reverse().Take(5).SequenceEqual("\n\r\n\r0"u8.ToArray()))
            {
                if (await _stream.ReadAsync(buffer, cancellationToken) == 0)
                {
                    return;
                }

                tail.Add(buffer[0]);
            }
        }
    }
}
