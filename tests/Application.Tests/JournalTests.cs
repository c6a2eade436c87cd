using Microsoft.Extensions.Hosting;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Relay.HandlePrompt;

namespace VoiceAgent.Application.Tests;

public sealed class JournalTests
{
    [Fact]
    public async Task Turns_reach_the_store_in_order_after_the_answer()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        await writer.StartAsync(CancellationToken.None);
        harness.Model.ThenSays("Hi there.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new HandlePrompt(call, "Hello", true, null));
        await call.CurrentTurn!.Completion;
        await writer.StopAsync(CancellationToken.None);

        var stored = await harness.Calls.GetMessagesAsync(call.CallSid, CancellationToken.None);
        Assert.Equal(["Hello", "Hi there."], stored.Select(m => m.Text));
        Assert.Equal(Domain.Calls.CallStatus.InProgress, (await harness.Calls.GetAsync(call.CallSid, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task A_store_outage_delays_writes_but_loses_none()
    {
        await using var harness = new Harness();
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        var journal = harness.Get<ICallJournal>();
        harness.Calls.FailNext(4);
        await writer.StartAsync(CancellationToken.None);
        harness.Model.ThenSays("First answer.").ThenSays("Second answer.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new HandlePrompt(call, "One", true, null));
        await call.CurrentTurn!.Completion;
        await harness.Sender.Send(new HandlePrompt(call, "Two", true, null));
        await call.CurrentTurn!.Completion;

        // The call went on while the store was down; retries advance with the fake clock.
        Assert.Equal("First answer.Second answer.", string.Concat(harness.Output.Heard.Select(h => h.Token)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (journal.Pending > 0)
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(5, timeout.Token);
        }

        await writer.StopAsync(CancellationToken.None);
        var stored = await harness.Calls.GetMessagesAsync(call.CallSid, CancellationToken.None);
        Assert.Equal(["One", "First answer.", "Two", "Second answer."], stored.Select(m => m.Text));
        Assert.True(harness.Calls.Attempts >= 4 + 5);
    }
}
