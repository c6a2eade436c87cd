using Amazon.Runtime;

namespace VoiceAgent.Integration.Tests.Bedrock;

/// <summary>The hosted API with Llm:Provider=Bedrock, a relay call, and the seed's inference profiles.</summary>
public sealed class BedrockEndToEndTests
{
    [Fact]
    public async Task A_call_is_answered_by_the_fallback_profile_when_the_first_throttles()
    {
        await using var bedrock = await FakeBedrockServer.StartAsync();
        bedrock.On("us.amazon.nova-lite-v1:0", ctx => FakeBedrockServer.ErrorAsync(ctx, 429, "ThrottlingException", "Too many requests"));
        bedrock.On("us.anthropic.claude-3-5-haiku-20241022-v1:0", ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.Golden("conversestream-text-turn.bin"), 5));
        await using var factory = new VoiceAgentFactory(realModel: true, new Dictionary<string, string?>
        {
            ["Llm:Provider"] = "Bedrock",
            ["Bedrock:Region"] = "us-east-1",
            ["Bedrock:Endpoint"] = bedrock.BaseAddress.ToString(),
            ["Bedrock:RetryBaseDelay"] = "00:00:00.001",
        })
        {
            AwsCredentials = new BasicAWSCredentials("AKIDEXAMPLE12345678", "secret-key"),
        };

        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();
        await twilio.PromptAsync("A large pepperoni, please.");

        Assert.Equal("Sure, a large pepperoni?", RelayClient.Text(await twilio.ReceiveAnswerAsync()));
        Assert.Equal(2, bedrock.CountFor("us.amazon.nova-lite-v1:0"));
        var request = Assert.Single(bedrock.Requests, r => r.ModelId.Contains("haiku", StringComparison.Ordinal));
        using var body = System.Text.Json.JsonDocument.Parse(request.Body);
        Assert.Contains("Dough & Co", body.RootElement.GetProperty("system")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("A large pepperoni, please.", body.RootElement.GetProperty("messages")[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_long_call_folds_its_older_history_with_the_summary_profile_and_sends_the_summary_after_the_cached_prompt()
    {
        const string Main = "us.amazon.nova-lite-v1:0";
        const string Cheap = "cheap.summary-v1:0";
        await using var bedrock = await FakeBedrockServer.StartAsync();
        bedrock.On(Main, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("Noted, ", "twelve large pizzas for the party tonight.")));
        bedrock.On(Cheap, ctx => FakeBedrockServer.StreamAsync(ctx, FakeBedrockServer.TextAnswer("Ana is ordering twelve large pizzas for a party.")));
        var seed = Directory.CreateTempSubdirectory("voiceagent-seed-");
        try
        {
            CopyDirectory(Path.Combine(AppContext.BaseDirectory, "seed"), seed.FullName);
            await File.WriteAllTextAsync(Path.Combine(seed.FullName, "usecases", "long-calls.json"), $$$"""
                {
                  "id": "long-calls",
                  "phoneNumbers": ["+15550004321"],
                  "systemPrompt": "You take party orders for Dough & Co.\n\nTHIS CALL\nToday is {{today}}.",
                  "model": { "inferenceProfiles": ["{{{Main}}}"], "contextBudgetChars": 150, "summaryProfile": "{{{Cheap}}}" }
                }
                """);
            await using var factory = new VoiceAgentFactory(realModel: true, new Dictionary<string, string?>
            {
                ["Llm:Provider"] = "Bedrock",
                ["Bedrock:Region"] = "us-east-1",
                ["Bedrock:Endpoint"] = bedrock.BaseAddress.ToString(),
                ["Store:SeedPath"] = seed.FullName,
            })
            {
                AwsCredentials = new BasicAWSCredentials("AKIDEXAMPLE12345678", "secret-key"),
            };

            await using var twilio = await factory.ConnectRelayAsync(to: "+15550004321");
            await twilio.SetupAsync();
            foreach (var line in new[] { "Hi, it's Ana, I need pizzas for a party.", "Twelve large ones for tonight." })
            {
                await twilio.PromptAsync(line);
                await twilio.ReceiveAnswerAsync();
            }

            await ConverseStreamClientTests.WaitUntilAsync(() => bedrock.CountFor(Cheap) == 1);
            using (var summary = System.Text.Json.JsonDocument.Parse(Assert.Single(bedrock.Requests, r => r.ModelId == Cheap).Body))
            {
                var root = summary.RootElement;
                Assert.StartsWith("You keep notes of a phone call", root.GetProperty("system")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
                var transcript = Assert.Single(root.GetProperty("messages").EnumerateArray()).GetProperty("content")[0].GetProperty("text").GetString();
                Assert.Contains("Caller: Hi, it's Ana, I need pizzas for a party.", transcript, StringComparison.Ordinal);
                Assert.False(root.TryGetProperty("toolConfig", out _));
                Assert.DoesNotContain("cachePoint", summary.RootElement.GetRawText(), StringComparison.Ordinal);
                Assert.Equal("long-calls", root.GetProperty("requestMetadata").GetProperty("useCase").GetString());
            }

            await Task.Delay(200); // the summary reaches the call's loop
            await twilio.PromptAsync("Half of them pepperoni.");
            await twilio.ReceiveAnswerAsync();

            using var next = System.Text.Json.JsonDocument.Parse(bedrock.Requests.Last(r => r.ModelId == Main).Body);
            var system = next.RootElement.GetProperty("system");
            Assert.Equal("You take party orders for Dough & Co.\n\nTHIS CALL\nToday is ", system[0].GetProperty("text").GetString());
            Assert.True(system[1].TryGetProperty("cachePoint", out _));
            Assert.EndsWith("EARLIER IN THIS CALL (summary)\nAna is ordering twelve large pizzas for a party.", system[2].GetProperty("text").GetString(), StringComparison.Ordinal);
            var messages = next.RootElement.GetProperty("messages");
            Assert.Equal("user", messages[0].GetProperty("role").GetString());
            Assert.Equal("Twelve large ones for tonight.", messages[0].GetProperty("content")[0].GetProperty("text").GetString());
            Assert.Equal(3, messages.GetArrayLength());
        }
        finally
        {
            seed.Delete(recursive: true);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(directory.Replace(from, to, StringComparison.Ordinal));
        }

        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal), overwrite: true);
        }
    }

    [Fact]
    public void Bedrock_settings_are_validated_on_start()
    {
        using var factory = new VoiceAgentFactory(realModel: true, new Dictionary<string, string?> { ["Llm:Provider"] = "Bedrock" });
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("Bedrock:Region is required", error.Message, StringComparison.Ordinal);
    }
}
