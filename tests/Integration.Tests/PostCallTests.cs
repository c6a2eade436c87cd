using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using VoiceAgent.Api.Operations;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Tests;
using VoiceAgent.Domain.Calls;

namespace VoiceAgent.Integration.Tests;

/// <summary>The post-call record (summary, outcome, extraction, figures), written off the call's path, once; and GET /calls/{callSid}.</summary>
public sealed class PostCallTests
{
    private const string Key = "va_test-key-for-the-operations-api";

    [Fact]
    public async Task A_finished_call_gets_its_record_once_and_the_operations_api_returns_it_with_the_transcript()
    {
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?>
        {
            ["Conversation:Preemption"] = "false",
            ["PostCall:FirstAttemptAfter"] = "00:00:00",
            ["PostCall:RetryAfter"] = "00:00:00.100",
            ["PostCall:Attempts"] = "8", // up to ~13 s for the end to be stored when the machine is busy
            ["Api:Keys:0:Name"] = "ops",
            ["Api:Keys:0:Sha256"] = ApiKeyAuthenticator.Hash(Key),
        });
        factory.Model
            .ThenSays("Hi Ana, a large pepperoni for pickup, ", "ready in fifteen minutes.")
            .ThenSays("Ana ordered a large pepperoni for pickup; it is ready in fifteen minutes.")
            .Then((_, ct) => ScriptedModel.ToolUse("record_call_details", """{"customerName":"Ana","items":["large pepperoni"],"fulfilment":"pickup"}""", ct));
        await using (var twilio = await factory.ConnectRelayAsync())
        {
            await twilio.SetupAsync();
            await twilio.PromptAsync("A large pepperoni for pickup, please.");
            await twilio.ReceiveAnswerAsync();
        }

        // Twilio reports the session's end at once, whether or not this busy machine has stored the call yet.

        var end = new Dictionary<string, string> { ["CallSid"] = RelayClient.CallSid, ["SessionId"] = "VX1", ["SessionStatus"] = "completed", ["SessionDuration"] = "31" };
        var ended = await factory.PostSignedAsync("/action", end);
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.Contains("<Hangup", await ended.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var record = await WaitForRecordAsync(factory);

        Assert.Equal(CallOutcomes.CallerHungUp, record.Outcome);
        Assert.Equal("Ana ordered a large pepperoni for pickup; it is ready in fifteen minutes.", record.Summary);
        using (var extraction = JsonDocument.Parse(record.ExtractionJson!))
        {
            Assert.Equal("Ana", extraction.RootElement.GetProperty("customerName").GetString());
        }

        Assert.Equal((1, 0), (record.Turns, record.Interruptions));
        var requests = factory.Model.Requests.ToList();
        Assert.Equal(3, requests.Count);
        Assert.Empty(requests[1].Tools); // the summary: no tools, the transcript as the one message
        Assert.Contains("Caller: A large pepperoni for pickup, please.", requests[1].Messages[0].Text, StringComparison.Ordinal);
        Assert.Equal(("record_call_details", "record_call_details"), (requests[2].Tools.Single().Name, requests[2].Settings.ToolChoice));

        // A replayed end (another instance, Twilio retrying) neither asks the model again nor writes another record.
        await factory.PostSignedAsync("/action", end);
        await factory.PostSignedAsync("/action", new Dictionary<string, string>(end) { ["SessionId"] = "VX2" });
        await Task.Delay(300);
        Assert.Equal(3, factory.Model.Requests.Count);
        Assert.Equal(record.RecordedAt, (await factory.Get<ICallRepository>().GetAsync(RelayClient.CallSid, CancellationToken.None))!.Record!.RecordedAt);

        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync($"/calls/{RelayClient.CallSid}")).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "va_not-the-key-at-all");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync($"/calls/{RelayClient.CallSid}")).StatusCode);

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        var response = await client.GetAsync($"/calls/{RelayClient.CallSid}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var call = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = call.RootElement;
        Assert.Equal(("Completed", "caller_hung_up", "pickup"), (root.GetProperty("status").GetString(), root.GetProperty("record").GetProperty("outcome").GetString(), root.GetProperty("record").GetProperty("extraction").GetProperty("fulfilment").GetString()));
        Assert.Equal(
            ["caller: A large pepperoni for pickup, please.", "agent: Hi Ana, a large pepperoni for pickup, ready in fifteen minutes."],
            root.GetProperty("transcript").EnumerateArray().Select(m => m.GetProperty("role").GetString() + ": " + m.GetProperty("text").GetString()));
        Assert.True(root.GetProperty("transcript")[1].GetProperty("timings").GetProperty("firstTextMs").GetInt32() >= 0);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/calls/CA00000000000000000000000000000000")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/calls/not-a-sid")).StatusCode);
    }

    [Theory]
    [InlineData(CallStatus.HandedOff, 2, false, false, CallOutcomes.HandedOff)]
    [InlineData(CallStatus.Failed, 2, true, false, CallOutcomes.Failed)]
    [InlineData(CallStatus.Completed, 2, true, true, CallOutcomes.OrderPlaced)]
    [InlineData(CallStatus.Completed, 0, false, false, CallOutcomes.Abandoned)]
    [InlineData(CallStatus.Completed, 3, false, true, CallOutcomes.Resolved)]
    [InlineData(CallStatus.Completed, 3, false, false, CallOutcomes.CallerHungUp)]
    public void The_outcome_follows_from_how_the_call_ended_and_what_happened_on_it(CallStatus status, int turns, bool order, bool agentEnded, string outcome)
    {
        var call = Call.Create("CA1", "+15550001234", "+15550009999", "pizza", DateTimeOffset.UnixEpoch);
        call.Connect("VX1", DateTimeOffset.UnixEpoch);
        call.End(status, null, DateTimeOffset.UnixEpoch.AddMinutes(1));

        Assert.Equal(outcome, VoiceAgent.Application.Calls.PostCall.PostCallRecorder.Outcome(call, turns, order, agentEnded));
    }

    private static async Task<CallRecord> WaitForRecordAsync(VoiceAgentFactory factory)
    {
        var calls = factory.Get<ICallRepository>();
        for (var i = 0; i < 400; i++)
        {
            if ((await calls.GetAsync(RelayClient.CallSid, CancellationToken.None))?.Record is { } record)
            {
                return record;
            }

            await Task.Delay(50);
        }

        var stored = await calls.GetAsync(RelayClient.CallSid, CancellationToken.None);
        throw new TimeoutException($"No post-call record within 20 s (stored: {stored?.Status}, ended {stored?.EndedAt}; model requests: {factory.Model.Requests.Count}).");
    }
}
