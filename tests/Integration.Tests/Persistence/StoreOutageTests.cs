using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Infrastructure.Persistence.DynamoDb;

namespace VoiceAgent.Integration.Tests.Persistence;

/// <summary>DynamoDB goes down mid-call: the call goes on, and every turn is written once it is back.</summary>
public sealed class StoreOutageTests
{
    [Fact]
    public async Task A_call_continues_while_the_store_is_down_and_every_turn_lands_after_it_returns()
    {
        await using var moto = await MotoServer.StartOwnAsync();
        var table = "outage-" + Guid.NewGuid().ToString("N")[..8];
        await using var factory = await VoiceAgentFactory.OnDynamoDbAsync(moto.Url, table, new Dictionary<string, string?>
        {
            ["Store:DynamoDb:RequestTimeout"] = "00:00:01",
            ["Persistence:FirstRetryDelay"] = "00:00:00.050",
            ["Persistence:MaxRetryDelay"] = "00:00:00.200",
        });
        var seeder = factory.Get<DynamoDbSeeder>();
        factory.Model.ThenSays("Hello!").ThenSays("Noted, ", "a margherita.").ThenSays("Twenty minutes.");
        var repository = factory.Get<ICallRepository>();
        var journal = factory.Get<ICallJournal>();

        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();
        await twilio.PromptAsync("Hi");
        Assert.Equal("Hello!", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        await WaitAsync(async () => (await repository.GetMessagesAsync(RelayClient.CallSid, default)).Count == 2);

        moto.Stop();
        await twilio.PromptAsync("A margherita");
        Assert.Equal("Noted, a margherita.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        await twilio.PromptAsync("How long?");
        Assert.Equal("Twenty minutes.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        Assert.True(journal.Pending >= 2, $"expected queued writes while the store is down, found {journal.Pending}");

        // moto keeps its data in memory: it comes back empty, so the table is created again, as after a restore.
        await moto.RestartAsync();
        await seeder.EnsureTableAsync(CancellationToken.None);
        await WaitAsync(() => Task.FromResult(journal.Pending == 0));

        var stored = await repository.GetMessagesAsync(RelayClient.CallSid, default);
        Assert.Equal(["A margherita", "Noted, a margherita.", "How long?", "Twenty minutes."], stored.Select(m => m.Text));
    }

    [Fact]
    public async Task New_calls_are_answered_and_talk_while_the_store_is_down()
    {
        await using var moto = await MotoServer.StartOwnAsync();
        await using var factory = await VoiceAgentFactory.OnDynamoDbAsync(moto.Url, "outage-" + Guid.NewGuid().ToString("N")[..8], new Dictionary<string, string?>
        {
            ["Store:DynamoDb:RequestTimeout"] = "00:00:02",
            ["Persistence:FirstRetryDelay"] = "00:00:00.050",
            ["Persistence:MaxRetryDelay"] = "00:00:00.200",
        });
        factory.Model.ThenSays("Hello Ana!").ThenSays("Hello there!").ThenSays("Hi again, Ana!");

        // A first call while the store is up: the use case and Ana's profile are read once.
        await using (var before = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000a01"))
        {
            await before.SetupAsync();
            await before.PromptAsync("Hi");
            Assert.Equal("Hello Ana!", RelayClient.Text(await before.ReceiveAnswerAsync()));
        }

        moto.Stop();
        var answered = System.Diagnostics.Stopwatch.StartNew();
        await using var unknown = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000a02", from: "+15550007777");
        Assert.True(answered.Elapsed < TimeSpan.FromSeconds(3), $"answering took {answered.Elapsed}");
        await unknown.SetupAsync();
        await unknown.PromptAsync("Hello?");
        Assert.Equal("Hello there!", RelayClient.Text(await unknown.ReceiveAnswerAsync()));

        await using var ana = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000a03");
        await ana.SetupAsync();
        await ana.PromptAsync("It's me again");
        Assert.Equal("Hi again, Ana!", RelayClient.Text(await ana.ReceiveAnswerAsync()));
        Assert.Contains("Ana", factory.Model.Requests[^1].SystemPrompt, StringComparison.Ordinal);
        Assert.DoesNotContain("Ana", factory.Model.Requests[1].SystemPrompt, StringComparison.Ordinal);

        // When the store is back, what the calls said during the outage is written.
        await moto.RestartAsync();
        await factory.Get<DynamoDbSeeder>().EnsureTableAsync(CancellationToken.None);
        var journal = factory.Get<ICallJournal>();
        await WaitAsync(() => Task.FromResult(journal.Pending == 0));
        var stored = await factory.Get<ICallRepository>().GetMessagesAsync("CA00000000000000000000000000000a02", default);
        Assert.Equal(["Hello?", "Hello there!"], stored.Select(m => m.Text));
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(50);
        }
    }
}
