using VoiceAgent.Integration.Tests;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Tests;
using VoiceAgent.FakeDynamoDb;

namespace VoiceAgent.Modules.Leasing.Tests;

/// <summary>
/// The leasing office over the wire: routed by its number, two callers, one slot. The race runs against the in-memory
/// DynamoDB of tools/FakeDynamoDb, which makes a conditional write atomic as DynamoDB does; moto_server (5.2.1) checks
/// the condition and writes without a lock on its threaded server, so two racing claims can both win there.
/// </summary>
public sealed class LeasingModuleTests
{
    private const string LeasingLine = "+15550006000";

    [Fact]
    public async Task Two_callers_asking_for_the_same_viewing_at_once_get_it_once_and_the_other_hears_free_times()
    {
        await using var dynamoDb = await FakeDynamoDbServer.StartAsync(new Uri("http://127.0.0.1:0"), TimeSpan.Zero);
        await using var factory = await VoiceAgentFactory.OnDynamoDbAsync(dynamoDb.Url, "leasing-" + Guid.NewGuid().ToString("N")[..8]);
        var slot = NextWeekdayAt(11);
        var booking = $$"""{"unit":"4B","date":"{{slot:yyyy-MM-dd}}","time":"11:00","name":"Sam"}""";
        factory.Model
            .Then((_, ct) => ScriptedModel.ToolUse("book_viewing", booking, ct))
            .Then((_, ct) => ScriptedModel.ToolUse("book_viewing", booking, ct))
            .Then((request, _) => SayResult(request))
            .Then((request, _) => SayResult(request));

        await using var first = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000b01", from: "+15550001111", to: LeasingLine);
        await using var second = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000b02", from: "+15550002222", to: LeasingLine);
        await first.SetupAsync();
        await second.SetupAsync();
        await Task.WhenAll(first.PromptAsync("Can I see 4B at eleven?"), second.PromptAsync("Can I see 4B at eleven?"));
        var answers = await Task.WhenAll(first.ReceiveAnswerAsync(), second.ReceiveAnswerAsync());

        var heard = answers.Select(RelayClient.Text).ToList();
        Assert.Single(heard, h => h.StartsWith("ok", StringComparison.Ordinal));
        var refused = Assert.Single(heard, h => h.StartsWith("refused", StringComparison.Ordinal));
        Assert.Contains("That time is taken. The next free times:", refused, StringComparison.Ordinal);
        Assert.Contains("at 12:00", refused, StringComparison.Ordinal);

        var records = factory.Get<IRecordStore>();
        var viewing = Assert.Single(await records.ListAsync("leasing-viewings", string.Empty, CancellationToken.None));
        Assert.Equal($"{slot:yyyy-MM-dd}T11:00", viewing.Key);
        Assert.All(factory.Model.Requests, r => Assert.Contains("Unit 4B: 2 bedrooms, 2600 dollars a month", r.SystemPrompt, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_caller_finds_their_viewing_by_their_number_and_cancels_it_and_nobody_else_can()
    {
        await using var factory = new VoiceAgentFactory();
        var slot = NextWeekdayAt(14);
        factory.Model
            .Then((_, ct) => ScriptedModel.ToolUse("book_viewing", $$"""{"unit":"2A","date":"{{slot:yyyy-MM-dd}}","time":"14:00","name":"Ana"}""", ct))
            .Then((request, _) => SayResult(request))
            .Then((_, ct) => ScriptedModel.ToolUse("cancel_viewing", $$"""{"date":"{{slot:yyyy-MM-dd}}","time":"14:00"}""", ct))
            .Then((request, _) => SayResult(request))
            .Then((_, ct) => ScriptedModel.ToolUse("check_existing_appointments", "{}", ct))
            .Then((request, _) => SayResult(request))
            .Then((_, ct) => ScriptedModel.ToolUse("cancel_viewing", $$"""{"date":"{{slot:yyyy-MM-dd}}","time":"14:00"}""", ct))
            .Then((request, _) => SayResult(request));

        await using (var ana = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000c01", from: "+15550001234", to: LeasingLine))
        {
            await ana.SetupAsync();
            await ana.PromptAsync("Book 2A for me");
            Assert.StartsWith("ok {\"booked\":true", RelayClient.Text(await ana.ReceiveAnswerAsync()), StringComparison.Ordinal);
        }

        // Someone else, from another number, cannot cancel Ana's viewing.
        await using (var other = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000c02", from: "+15550009876", to: LeasingLine))
        {
            await other.SetupAsync();
            await other.PromptAsync("Cancel the viewing at two");
            Assert.Contains("no viewing at that time", RelayClient.Text(await other.ReceiveAnswerAsync()), StringComparison.Ordinal);
        }

        await using (var again = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000c03", from: "+15550001234", to: LeasingLine))
        {
            await again.SetupAsync();
            await again.PromptAsync("What did I book?");
            Assert.Contains("\"unit\":\"2A\"", RelayClient.Text(await again.ReceiveAnswerAsync()), StringComparison.Ordinal);
            await again.PromptAsync("Cancel it");
            Assert.StartsWith("ok {\"cancelled\":true", RelayClient.Text(await again.ReceiveAnswerAsync()), StringComparison.Ordinal);
        }

        Assert.Empty(await factory.Get<IRecordStore>().ListAsync("leasing-viewings", string.Empty, CancellationToken.None));
    }

    /// <summary>The model "says" the tool's result, after "ok" or "refused".</summary>
    private static IAsyncEnumerable<ModelStreamEvent> SayResult(ModelRequest request)
    {
        var result = request.Messages[^1].ToolResults.Single();
        var text = (result.Status == VoiceAgent.Domain.Conversations.ToolResultStatus.Success ? "ok " : "refused ") + result.Content;
        return ScriptedModel.Events(ModelStopReason.EndTurn, CancellationToken.None, new TextDelta(text));
    }

    private static DateTime NextWeekdayAt(int hour)
    {
        var day = DateTime.UtcNow.Date.AddDays(1);
        while (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
        {
            day = day.AddDays(1);
        }

        return day.AddHours(hour);
    }
}
