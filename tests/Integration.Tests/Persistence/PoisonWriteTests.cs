using System.Diagnostics;
using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Tests;

namespace VoiceAgent.Integration.Tests.Persistence;

/// <summary>
/// Writes DynamoDB cannot take (an answer over the 400 KB item limit, a key over its size limit) beside normal calls,
/// all on one journal lane, against moto: the normal calls' items land at once, the long answer is stored cut with a
/// marker, the invalid item is set aside for replay.
/// </summary>
public sealed class PoisonWriteTests : IClassFixture<MotoServer>
{
    private readonly MotoServer _moto;

    public PoisonWriteTests(MotoServer moto) => _moto = moto;

    [Fact]
    public async Task Oversize_and_invalid_writes_never_hold_back_six_normal_calls_on_the_same_writer()
    {
        var table = "poison-" + Guid.NewGuid().ToString("N")[..8];
        var deadLetters = Path.Combine(Path.GetTempPath(), "voiceagent-tests", table + ".jsonl");
        await using var factory = await VoiceAgentFactory.OnDynamoDbAsync(_moto.Url, table, new Dictionary<string, string?>
        {
            ["Store:DeadLetterPath"] = deadLetters,
            ["Persistence:Writers"] = "1",
            // A lane that retried a poison write would hold the calls behind it for a minute: far past the bound below,
            // however slow the machine.
            ["Persistence:FirstRetryDelay"] = "00:01:00",
            ["Persistence:MaxRetryDelay"] = "00:01:00",
        });
        var longAnswer = Enumerable.Range(0, 900).Select(i => $"Sentence {i} of a very long answer that goes on and on. " + new string('a', 450) + " ").ToArray();
        var longToolId = "T" + new string('9', 1_100);
        factory.Model
            .ThenSays(longAnswer)
            .Then((_, ct) => ScriptedModel.Events(ModelStopReason.ToolUse, ct, new ToolUseRequested(longToolId, "check_pickup_time", "{}")))
            .ThenSays("About twenty minutes.");
        for (var i = 0; i < 6; i++)
        {
            factory.Model.ThenSays("Hello ", "there.");
        }

        await using var oversize = await factory.ConnectRelayAsync(callSid: Sid(100));
        await using var invalid = await factory.ConnectRelayAsync(callSid: Sid(101));
        var normal = new List<RelayClient>();
        for (var i = 0; i < 6; i++)
        {
            normal.Add(await factory.ConnectRelayAsync(callSid: Sid(i)));
        }

        await oversize.SetupAsync();
        await oversize.PromptAsync("Tell me everything");
        Assert.True(RelayClient.Text(await oversize.ReceiveAnswerAsync()).Length > 400_000);
        await invalid.SetupAsync();
        await invalid.PromptAsync("How long for pickup?");
        Assert.Equal("About twenty minutes.", RelayClient.Text(await invalid.ReceiveAnswerAsync()));

        foreach (var twilio in normal)
        {
            await twilio.SetupAsync();
            await twilio.PromptAsync("Hi");
            Assert.Equal("Hello there.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        }

        // Each normal call's turn is in the table within seconds of its answer, not after a retry delay.
        var answered = Stopwatch.StartNew();
        var repository = factory.Get<ICallRepository>();
        for (var i = 0; i < 6; i++)
        {
            while ((await repository.GetMessagesAsync(Sid(i), CancellationToken.None)).Count < 2)
            {
                Assert.True(answered.Elapsed < TimeSpan.FromSeconds(10), $"call {i}'s turn was not stored within 10 s");
                await Task.Delay(20);
            }
        }

        await WaitAsync(() => factory.Get<ICallJournal>().Pending == 0);

        // The long answer is stored, cut with a marker, in an item DynamoDB accepts.
        var stored = await repository.GetMessagesAsync(Sid(100), CancellationToken.None);
        Assert.Equal(2, stored.Count);
        Assert.StartsWith("Sentence 0 of a very long answer", stored[1].Text, StringComparison.Ordinal);
        Assert.Contains("characters not stored]", stored[1].Text, StringComparison.Ordinal);

        // The tool call whose key DynamoDB refuses is a dead letter; the conversation around it is stored.
        Assert.Equal(4, (await repository.GetMessagesAsync(Sid(101), CancellationToken.None)).Count);
        Assert.Empty(await repository.GetToolCallsAsync(Sid(101), CancellationToken.None));
        var letter = Assert.Single(await File.ReadAllLinesAsync(deadLetters));
        Assert.Contains("\"entry\":\"toolCall\"", letter, StringComparison.Ordinal);
        Assert.Contains("ValidationException", letter, StringComparison.Ordinal);

        // Nothing is retried behind the scenes: the letter stays single and the lane is idle.
        var client = _moto.CreateClient();
        var items = await client.QueryAsync(new QueryRequest
        {
            TableName = table,
            KeyConditionExpression = "pk = :pk",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":pk"] = new() { S = "CALL#" + Sid(101) } },
        });
        Assert.DoesNotContain(items.Items, i => i["sk"].S.StartsWith("TOOL#", StringComparison.Ordinal));

        foreach (var twilio in normal)
        {
            await twilio.DisposeAsync();
        }
    }

    private static string Sid(int i) => $"CA{i:D32}";

    private static async Task WaitAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
