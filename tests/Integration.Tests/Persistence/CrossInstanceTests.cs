using VoiceAgent.Api.Relay;
using VoiceAgent.Application.Persistence;

namespace VoiceAgent.Integration.Tests.Persistence;

/// <summary>Two instances of the service behind one load balancer, sharing one DynamoDB table (moto on loopback).</summary>
public sealed class CrossInstanceTests : IClassFixture<MotoServer>
{
    private readonly MotoServer _moto;

    public CrossInstanceTests(MotoServer moto) => _moto = moto;

    [Fact]
    public async Task A_relay_ticket_used_on_one_instance_is_refused_on_another()
    {
        var table = "tickets-" + Guid.NewGuid().ToString("N")[..8];
        await using var first = await InstanceAsync(table);
        await using var second = await InstanceAsync(table);
        first.Model.ThenSays("Hello!");

        var url = await first.AnswerAsync();
        await using var twilio = await first.ConnectToAsync(url);
        await twilio.SetupAsync();
        await twilio.PromptAsync("Hi");
        Assert.Equal("Hello!", RelayClient.Text(await twilio.ReceiveAnswerAsync()));

        // The captured upgrade, replayed at the other instance: it never saw the ticket, the store did.
        var replay = await Assert.ThrowsAnyAsync<Exception>(() => second.ConnectToAsync(url));
        Assert.Contains("403", replay.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_drained_call_reconnects_on_another_instance_with_a_fresh_ticket_and_its_history()
    {
        var table = "handover-" + Guid.NewGuid().ToString("N")[..8];
        await using var stopping = await InstanceAsync(table, new Dictionary<string, string?> { ["Relay:DrainTimeout"] = "00:00:00.300", ["Relay:CloseTimeout"] = "00:00:01" });
        await using var healthy = await InstanceAsync(table);
        stopping.Model.ThenSays("A large pepperoni, got it.");
        healthy.Model.ThenSays("Pickup in twenty minutes.");

        var firstUrl = await stopping.AnswerAsync();
        await using (var twilio = await stopping.ConnectToAsync(firstUrl))
        {
            await twilio.SetupAsync();
            await twilio.PromptAsync("A large pepperoni");
            Assert.Equal("A large pepperoni, got it.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
            await WaitForJournalAsync(stopping);

            stopping.Get<RelayDrain>().Begin();
            await twilio.ReceiveAsync();
            var end = await twilio.ReceiveAsync();
            var handoffData = end!.Value.GetProperty("handoffData").GetString()!;

            var action = await healthy.PostSignedAsync("/action", new Dictionary<string, string>
            {
                ["CallSid"] = RelayClient.CallSid,
                ["SessionId"] = "VX0123456789abcdef0123456789abcdef",
                ["SessionStatus"] = "ended",
                ["SessionDuration"] = "12",
                ["HandoffData"] = handoffData,
            });
            var reconnectUrl = VoiceAgentFactory.RelayUrl(await action.Content.ReadAsStringAsync());
            Assert.NotEqual(firstUrl, reconnectUrl);

            // The first ticket is spent; the fresh one opens the resumed session on the healthy instance.
            var stale = await Assert.ThrowsAnyAsync<Exception>(() => healthy.ConnectToAsync(firstUrl));
            Assert.Contains("403", stale.Message, StringComparison.Ordinal);
            await using var resumed = await healthy.ConnectToAsync(reconnectUrl);
            await resumed.SendJsonAsync(new { type = "setup", sessionId = "VX1111111111111111111111111111111", callSid = RelayClient.CallSid });
            await resumed.PromptAsync("For pickup");
            Assert.Equal("Pickup in twenty minutes.", RelayClient.Text(await resumed.ReceiveAnswerAsync()));
        }

        var request = Assert.Single(healthy.Model.Requests);
        Assert.Equal(["A large pepperoni", "A large pepperoni, got it.", "For pickup"], request.Messages.Select(m => m.Text));
    }

    private Task<VoiceAgentFactory> InstanceAsync(string table, IDictionary<string, string?>? extra = null) =>
        VoiceAgentFactory.OnDynamoDbAsync(_moto.Url, table, extra);

    private static async Task WaitForJournalAsync(VoiceAgentFactory factory)
    {
        var journal = factory.Get<ICallJournal>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (journal.Pending > 0)
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
