using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace VoiceAgent.Integration.Tests;

/// <summary>What an unsigned request may cost: not its body, and not unlimited tries.</summary>
public sealed class WebhookGuardTests
{
    [Fact]
    public async Task A_25_MB_unsigned_webhook_is_answered_413_without_being_read()
    {
        // Over real sockets (Kestrel): what a client on the internet would do to the process.
        await using var factory = new VoiceAgentFactory();
        factory.UseKestrel(0);
        factory.StartServer();
        // No redirect handler: it would buffer the whole body on the client side to be able to send it again.
        var address = factory.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };
        using (var warmup = await client.PostAsync("/twiml", new FormUrlEncodedContent(new Dictionary<string, string> { ["CallSid"] = "CA1" })))
        {
            Assert.Equal(HttpStatusCode.Forbidden, warmup.StatusCode);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = Process.GetCurrentProcess().WorkingSet64;
        var posts = new List<Task<HttpResponseMessage>>();
        var bodies = new List<LazyBody>();
        for (var i = 0; i < 4; i++)
        {
            var body = new LazyBody(25 * 1024 * 1024);
            bodies.Add(body);
            posts.Add(client.PostAsync("/twiml", body));
        }

        foreach (var post in posts)
        {
            // The service answers 413 and closes the connection; the client may see the close before the answer.
            try
            {
                using var response = await post;
                Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            }
            catch (HttpRequestException ex)
            {
                Assert.IsType<IOException>(ex.InnerException, exactMatch: false);
            }
        }

        // The connection is closed, not drained: only what the socket buffers took was ever sent.
        Assert.All(bodies, b => Assert.True(b.Written < 12 * 1024 * 1024, $"{b.Written} bytes of the body were sent"));
        var growth = Process.GetCurrentProcess().WorkingSet64 - before;
        Assert.True(growth < 20 * 1024 * 1024, $"memory grew by {growth / 1024 / 1024} MB");
    }

    [Fact]
    public async Task A_client_that_keeps_failing_the_signature_check_is_refused_with_429_before_any_check()
    {
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?> { ["Twilio:SignatureFailuresPerMinute"] = "3" });
        var form = new Dictionary<string, string> { ["CallSid"] = "CA12121212121212121212121212121212", ["From"] = "+15550001234", ["To"] = "+15550009999" };
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await factory.PostSignedAsync("/twiml", form, sign: false)).StatusCode);
        }

        // Now even a valid request from that client waits out the window, and so does an upgrade.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await factory.PostSignedAsync("/twiml", form)).StatusCode);
        var upgrade = await Assert.ThrowsAnyAsync<Exception>(() => factory.ConnectToAsync("wss://voice.example.com/ws?ticket=x"));
        Assert.Contains("429", upgrade.Message, StringComparison.Ordinal);
    }

    /// <summary>A body of a given length whose bytes are made as they are sent, so the test itself holds none of it.</summary>
    private sealed class LazyBody : HttpContent
    {
        private readonly long _length;

        public LazyBody(long length)
        {
            _length = length;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-www-form-urlencoded");
        }

        public long Written { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'a');
            while (Written < _length)
            {
                var count = (int)Math.Min(chunk.Length, _length - Written);
                await stream.WriteAsync(chunk.AsMemory(0, count));
                Written += count;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
