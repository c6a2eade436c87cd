using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using VoiceAgent.Api.Operations;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Calls;

namespace VoiceAgent.Integration.Tests;

/// <summary>POST /calls places a call through Twilio's REST API (a fake on loopback); the callee's TwiML carries what was asked.</summary>
public sealed class OutboundCallTests
{
    private const string Key = "va_outbound-test-key";

    [Fact]
    public async Task An_outbound_call_is_placed_with_basic_auth_and_its_answered_twiml_carries_the_first_line_and_context()
    {
        await using var twilio = await FakeTwilioRest.StartAsync(VoiceAgentFactory.AuthToken);
        await using var factory = Factory(twilio.BaseAddress);
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/calls", new { to = "+15550002222", useCaseId = "pizza" })).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/calls", new { to = "5550002222", useCaseId = "pizza" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/calls", new { to = "+15550002222", useCaseId = "nope" })).StatusCode);

        var response = await client.PostAsJsonAsync("/calls", new
        {
            to = "+15550002222",
            useCaseId = "pizza",
            firstLine = "Hi Ana, this is Dough and Co about your order.",
            context = new Dictionary<string, string> { ["orderId"] = "O-1234", ["reason"] = "late delivery" },
            machineDetection = true,
            voicemailLine = "Hi, this is Dough and Co. Please call us back.",
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var placed = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var callSid = placed.RootElement.GetProperty("callSid").GetString()!;

        var form = Assert.Single(twilio.Calls);
        string Field(string name) => form.Single(f => f.Key == name).Value;
        Assert.Equal(("+15550002222", "+15550009999", "POST", "Enable"), (Field("To"), Field("From"), Field("Method"), Field("MachineDetection")));
        Assert.Equal("https://voice.example.com/calls/status", Field("StatusCallback"));
        Assert.Equal(["initiated", "ringing", "answered", "completed"], form.Where(f => f.Key == "StatusCallbackEvent").Select(f => f.Value));
        var url = Field("Url");
        Assert.StartsWith("https://voice.example.com/twiml?outbound=", url, StringComparison.Ordinal);
        Assert.DoesNotContain("O-1234", url, StringComparison.Ordinal); // sealed, not readable

        // Twilio fetches the URL when the callee answers (the webhook is signed over it, query included).
        var path = url["https://voice.example.com".Length..];
        var answered = await factory.PostSignedAsync(path, new Dictionary<string, string> { ["CallSid"] = callSid, ["From"] = "+15550009999", ["To"] = "+15550002222", ["AnsweredBy"] = "human" }, signedUrl: url);
        var relay = XDocument.Parse(await answered.Content.ReadAsStringAsync()).Root!.Element("Connect")!.Element("ConversationRelay")!;
        Assert.Equal("Hi Ana, this is Dough and Co about your order.", relay.Attribute("welcomeGreeting")!.Value);
        var parameters = relay.Elements("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        Assert.Equal(("pizza", "O-1234", "late delivery"), (parameters["useCaseId"], parameters["orderId"], parameters["reason"]));
        Assert.False(parameters.ContainsKey(OutboundCalls.VoicemailParameter));

        // A machine answered: the voicemail line, then hang up — no relay session.
        var machine = await factory.PostSignedAsync(path, new Dictionary<string, string> { ["CallSid"] = callSid, ["From"] = "+15550009999", ["To"] = "+15550002222", ["AnsweredBy"] = "machine_end_beep" }, signedUrl: url);
        var voicemail = XDocument.Parse(await machine.Content.ReadAsStringAsync()).Root!;
        Assert.Equal(("Hi, this is Dough and Co. Please call us back.", true), (voicemail.Element("Say")!.Value, voicemail.Element("Hangup") is not null));
        Assert.Null(voicemail.Element("Connect"));

        // A context we did not seal opens nothing.
        var forged = "/twiml?outbound=" + new string('A', 80);
        var refused = await factory.PostSignedAsync(forged, new Dictionary<string, string> { ["CallSid"] = callSid, ["From"] = "+15550009999", ["To"] = "+15550002222" }, signedUrl: "https://voice.example.com" + forged);
        Assert.Null(XDocument.Parse(await refused.Content.ReadAsStringAsync()).Root!.Element("Connect"));
    }

    [Fact]
    public async Task Twilio_refusing_the_credentials_is_a_502_and_an_unanswered_call_is_recorded_from_its_status_callback()
    {
        await using var twilio = await FakeTwilioRest.StartAsync("not-the-token");
        await using var factory = Factory(twilio.BaseAddress);
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", Key);

        var response = await client.PostAsJsonAsync("/calls", new { to = "+15550002222", useCaseId = "pizza" });
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("Authenticate (code 20003)", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        const string sid = "CA7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a";
        var status = await factory.PostSignedAsync("/calls/status", new Dictionary<string, string> { ["CallSid"] = sid, ["From"] = "+15550009999", ["To"] = "+15550002222", ["CallStatus"] = "no-answer" });
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await factory.PostSignedAsync("/calls/status", new Dictionary<string, string> { ["CallSid"] = sid, ["CallStatus"] = "busy" }, sign: false)).StatusCode);

        Call? call = null;
        for (var i = 0; i < 100 && call is null; i++)
        {
            await Task.Delay(50);
            call = await factory.Get<ICallRepository>().GetAsync(sid, CancellationToken.None);
        }

        Assert.Equal((CallStatus.Failed, "no-answer"), (call!.Status, call.ErrorCode));
    }

    private static VoiceAgentFactory Factory(Uri twilioApi) => new(realModel: false, new Dictionary<string, string?>
    {
        ["Twilio:AccountSid"] = FakeTwilioRest.AccountSid,
        ["Twilio:ApiBaseUrl"] = twilioApi.ToString(),
        ["Api:Keys:0:Name"] = "ops",
        ["Api:Keys:0:Sha256"] = ApiKeyAuthenticator.Hash(Key),
        ["PostCall:Enabled"] = "false",
    });
}
