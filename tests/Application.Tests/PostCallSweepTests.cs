using VoiceAgent.Application.Calls.PostCall;
using VoiceAgent.Domain.Calls;

namespace VoiceAgent.Application.Tests;

public sealed class PostCallSweepTests
{
    [Fact]
    public async Task The_sweep_queues_calls_over_for_a_while_without_a_record_and_leaves_the_rest()
    {
        await using var harness = new Harness();
        var now = harness.Time.GetUtcNow();
        async Task StoreAsync(string sid, DateTimeOffset created, DateTimeOffset? ended, bool recorded = false)
        {
            var call = Call.Create(sid, "+15550001234", "+15550009999", "pizza", created);
            call.Connect("VX", created);
            if (ended is { } at)
            {
                call.End(CallStatus.Completed, null, at);
            }

            if (recorded)
            {
                call.AttachRecord(new CallRecord(CallOutcomes.Resolved, null, null, 1, 1, 0, 0, 0, 0m, now));
            }

            await harness.Calls.SaveAsync(call, CancellationToken.None);
        }

        await StoreAsync("CA01", now.AddMinutes(-40), now.AddMinutes(-30)); // over for 30 min, no record: queued
        await StoreAsync("CA02", now.AddDays(-1), now.AddDays(-1).AddMinutes(5)); // yesterday, no record: queued
        await StoreAsync("CA03", now.AddMinutes(-40), now.AddMinutes(-30), recorded: true);
        await StoreAsync("CA04", now.AddMinutes(-5), now.AddMinutes(-2)); // its own instance records it first
        await StoreAsync("CA05", now.AddMinutes(-5), ended: null); // still live
        await StoreAsync("CA06", now.AddDays(-3), now.AddDays(-3).AddMinutes(5)); // older than the sweep looks

        var writer = harness.Get<PostCallWriter>();

        Assert.Equal(2, await writer.SweepOnceAsync(CancellationToken.None));
    }
}
