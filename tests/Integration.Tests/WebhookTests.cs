using System.Net;
using System.Xml.Linq;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Calls;

namespace VoiceAgent.Integration.Tests;

public sealed class WebhookTests : IClassFixture<VoiceAgentFactory>
{
    private readonly VoiceAgentFactory _factory;

    public WebhookTests(VoiceAgentFactory factory) => _factory = factory;

    [Fact]
    public async Task A_signed_incoming_call_gets_ConversationRelay_TwiML_and_is_stored()
    {
        const string sid = "CA11111111111111111111111111111111";
        var response = await _factory.PostSignedAsync("/twiml", Form(sid, "+15550001234"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/xml", response.Content.Headers.ContentType!.MediaType);
        var root = XDocument.Parse(await response.Content.ReadAsStringAsync()).Root!;
        var connect = root.Element("Connect")!;
        Assert.Equal("https://voice.example.com/action", connect.Attribute("action")!.Value);
        var relay = connect.Element("ConversationRelay")!;
        Assert.StartsWith("wss://voice.example.com/ws?ticket=", relay.Attribute("url")!.Value, StringComparison.Ordinal);
        Assert.StartsWith("Thanks for calling Dough and Co", relay.Attribute("welcomeGreeting")!.Value, StringComparison.Ordinal);
        Assert.Equal("true", relay.Attribute("dtmfDetection")!.Value);
        Assert.Equal(2, relay.Elements("Language").Count());
        var parameters = relay.Elements("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        Assert.Equal("pizza", parameters["useCaseId"]);
        Assert.Equal("Ana", parameters["callerName"]);

        var call = await WaitForCallAsync(sid);
        Assert.Equal(CallStatus.Ringing, call.Status);
        Assert.Equal("pizza", call.UseCaseId);
    }

    [Fact]
    public async Task A_retried_webhook_does_not_duplicate_or_reset_the_call()
    {
        const string sid = "CA22222222222222222222222222222222";
        await _factory.PostSignedAsync("/twiml", Form(sid, "+15550007777"));
        var first = await WaitForCallAsync(sid);

        var retry = await _factory.PostSignedAsync("/twiml", Form(sid, "+15550007777"));
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        await WaitForJournalAsync();

        var stored = await _factory.Get<ICallRepository>().GetAsync(sid, CancellationToken.None);
        Assert.Equal(first.CreatedAt, stored!.CreatedAt);
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, "http://localhost/twiml")]
    [InlineData(true, "https://voice.example.com/other")]
    public async Task Unsigned_or_wrongly_signed_webhooks_are_refused_and_nothing_is_stored(bool sign, string? signedUrl)
    {
        var sid = "CA" + Guid.NewGuid().ToString("N");
        var response = await _factory.PostSignedAsync("/twiml", Form(sid, "+15550001234"), signedUrl, sign);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        await WaitForJournalAsync();
        Assert.Null(await _factory.Get<ICallRepository>().GetAsync(sid, CancellationToken.None));
    }

    [Fact]
    public async Task A_signature_over_the_public_url_with_its_default_port_is_accepted()
    {
        var response = await _factory.PostSignedAsync("/twiml", Form("CA33333333333333333333333333333333", "+15550001234"), "https://voice.example.com:443/twiml");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_signed_request_with_a_query_string_is_checked_against_it()
    {
        var response = await _factory.PostSignedAsync("/twiml?tenant=acme", Form("CA44444444444444444444444444444444", "+15550001234"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task The_session_end_callback_hands_off_when_asked_and_records_the_end()
    {
        const string sid = "CA55555555555555555555555555555555";
        await _factory.PostSignedAsync("/twiml", Form(sid, "+15550001234"));
        await WaitForCallAsync(sid);

        var response = await _factory.PostSignedAsync("/action", new Dictionary<string, string>
        {
            ["CallSid"] = sid,
            ["SessionId"] = "VX1",
            ["SessionStatus"] = "ended",
            ["SessionDuration"] = "42",
            ["HandoffData"] = "{\"reasonCode\":\"live-agent-handoff\",\"summary\":\"wants a human & fast <now>\"}",
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = XDocument.Parse(await response.Content.ReadAsStringAsync()).Root!;
        Assert.Equal("+15005550006", root.Element("Dial")!.Value);
        await WaitForJournalAsync();
        var call = await _factory.Get<ICallRepository>().GetAsync(sid, CancellationToken.None);
        Assert.Equal(CallStatus.HandedOff, call!.Status);
        Assert.Contains("wants a human", call.HandoffData, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_session_end_callback_gets_TwiML_a_completed_one_unknown_statuses_and_unreadable_ones_hang_up()
    {
        var ok = await _factory.PostSignedAsync("/action", new Dictionary<string, string> { ["CallSid"] = "CA66666666666666666666666666666666", ["SessionStatus"] = "completed" });
        Assert.NotNull(XDocument.Parse(await ok.Content.ReadAsStringAsync()).Root!.Element("Hangup"));

        foreach (var form in new[]
        {
            new Dictionary<string, string> { ["CallSid"] = "CA67676767676767676767676767676767", ["SessionStatus"] = "exploded" },
            new Dictionary<string, string> { ["CallSid"] = "CA68686868686868686868686868686868" },
            new Dictionary<string, string> { ["CallSid"] = "nope", ["SessionStatus"] = "completed" },
        })
        {
            var response = await _factory.PostSignedAsync("/action", form);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/xml", response.Content.Headers.ContentType!.MediaType);
            var root = XDocument.Parse(await response.Content.ReadAsStringAsync()).Root!;
            Assert.NotNull(root.Element("Hangup"));
            Assert.DoesNotContain("exploded", root.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_session_end_callback_records_duration_and_error_code_and_a_replay_answers_the_same_without_doing_it_twice()
    {
        const string sid = "CA57575757575757575757575757575757";
        await _factory.PostSignedAsync("/twiml", Form(sid, "+15550001234"));
        await WaitForCallAsync(sid);
        var form = new Dictionary<string, string>
        {
            ["CallSid"] = sid,
            ["SessionId"] = "VX57",
            ["SessionStatus"] = "failed",
            ["SessionDuration"] = "37",
            ["ErrorCode"] = "64107",
            ["ErrorMessage"] = "WebSocket connection closed unexpectedly",
        };

        var first = await (await _factory.PostSignedAsync("/action", form)).Content.ReadAsStringAsync();
        var replay = await (await _factory.PostSignedAsync("/action", form)).Content.ReadAsStringAsync();
        await WaitForJournalAsync();

        Assert.Equal(first, replay);
        Assert.NotNull(XDocument.Parse(first).Root!.Element("Hangup"));
        var call = await _factory.Get<ICallRepository>().GetAsync(sid, CancellationToken.None);
        Assert.Equal(CallStatus.Failed, call!.Status);
        Assert.Equal(37, call.SessionSeconds); // not 74: the replay recorded nothing
        Assert.Equal("VX57", call.ReportedSessionId);
        Assert.Equal("64107", call.ErrorCode);
    }

    [Fact]
    public async Task A_session_failed_by_its_speech_provider_reconnects_once_with_the_fallback_providers_then_hangs_up()
    {
        const string sid = "CA58585858585858585858585858585858";
        await _factory.PostSignedAsync("/twiml", Form(sid, "+15550001234"));
        await WaitForCallAsync(sid);

        var first = await _factory.PostSignedAsync("/action", new Dictionary<string, string>
        {
            ["CallSid"] = sid,
            ["SessionId"] = "VX58a",
            ["SessionStatus"] = "failed",
            ["ErrorCode"] = "64105",
            ["ErrorMessage"] = "ElevenLabs TTS request failed: 503",
        });

        var relay = XDocument.Parse(await first.Content.ReadAsStringAsync()).Root!.Element("Connect")!.Element("ConversationRelay")!;
        Assert.Equal(
            ("Google", "en-US-Journey-O", "Google", "telephony"),
            (relay.Attribute("ttsProvider")?.Value, relay.Attribute("voice")?.Value, relay.Attribute("transcriptionProvider")?.Value, relay.Attribute("speechModel")?.Value));
        Assert.Empty(relay.Elements("Language")); // they name the providers that failed
        Assert.StartsWith("Sorry about that", relay.Attribute("welcomeGreeting")!.Value, StringComparison.Ordinal);
        Assert.Equal("true", relay.Attribute("partialPrompts")!.Value); // the rest of the use case's settings stay
        Assert.StartsWith("wss://voice.example.com/ws?ticket=", relay.Attribute("url")!.Value, StringComparison.Ordinal);
        await WaitForJournalAsync();
        var call = await _factory.Get<ICallRepository>().GetAsync(sid, CancellationToken.None);
        Assert.True(call!.SpeechFallbackUsed);
        Assert.False(call.IsEnded);

        // The fallback failed too: no second fallback, the caller hears the apology.
        var second = await _factory.PostSignedAsync("/action", new Dictionary<string, string>
        {
            ["CallSid"] = sid,
            ["SessionId"] = "VX58b",
            ["SessionStatus"] = "failed",
            ["ErrorMessage"] = "Google STT stream error",
        });
        var root = XDocument.Parse(await second.Content.ReadAsStringAsync()).Root!;
        Assert.NotNull(root.Element("Hangup"));
        Assert.Null(root.Element("Connect"));
        await WaitForJournalAsync();
        Assert.Equal(CallStatus.Failed, (await _factory.Get<ICallRepository>().GetAsync(sid, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task Health_endpoints_answer()
    {
        using var client = _factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    private static Dictionary<string, string> Form(string sid, string from) => new()
    {
        ["AccountSid"] = "AC0123456789abcdef0123456789abcdef",
        ["CallSid"] = sid,
        ["From"] = from,
        ["To"] = "+15550009999",
        ["CallStatus"] = "ringing",
        ["Direction"] = "inbound",
    };

    private async Task<Call> WaitForCallAsync(string sid)
    {
        var repository = _factory.Get<ICallRepository>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            if (await repository.GetAsync(sid, timeout.Token) is { } call)
            {
                return call;
            }

            await Task.Delay(10, timeout.Token);
        }
    }

    private async Task WaitForJournalAsync()
    {
        var journal = _factory.Get<ICallJournal>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (journal.Pending > 0)
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
