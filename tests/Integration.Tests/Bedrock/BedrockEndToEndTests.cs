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
    public void Bedrock_settings_are_validated_on_start()
    {
        using var factory = new VoiceAgentFactory(realModel: true, new Dictionary<string, string?> { ["Llm:Provider"] = "Bedrock" });
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("Bedrock:Region is required", error.Message, StringComparison.Ordinal);
    }
}
