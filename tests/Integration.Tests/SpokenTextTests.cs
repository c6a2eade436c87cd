using System.Runtime.CompilerServices;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Tests;

namespace VoiceAgent.Integration.Tests;

/// <summary>What reaches Twilio's text-to-speech, frame by frame: words never glued together, answers always closed.</summary>
public sealed class SpokenTextTests
{
    [Fact]
    public async Task Text_from_consecutive_model_rounds_reaches_the_caller_as_separate_words()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model
            .Then((_, ct) => ScriptedModel.ToolUse("check_pickup_time", "{}", ct, new TextDelta("Let me check that.")))
            .ThenSays("Your order ", "will be ready soon.");
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();

        await twilio.PromptAsync("When is it ready?");
        Assert.Equal("Let me check that. Your order will be ready soon.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));

        var messages = factory.Model.Requests[1].Messages;
        Assert.Equal("Let me check that.", messages[1].Text);
    }

    [Fact]
    public async Task A_recovery_line_after_a_mid_answer_failure_is_its_own_words_and_ends_the_answer()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model.Then((_, ct) => FailsMidSentence(ct));
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();

        await twilio.PromptAsync("What's the special?");
        var frames = await twilio.ReceiveAnswerAsync();
        var text = RelayClient.Text(frames);
        Assert.StartsWith("Today's special is the Sorry,", text, StringComparison.Ordinal);
        Assert.DoesNotContain("theSorry", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_last_text_before_end_carries_last_true()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model.Then((_, ct) => ScriptedModel.ToolUse("end_call", "{}", ct, new TextDelta("Goodbye!")));
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();

        await twilio.PromptAsync("That's all, bye.");
        var frames = await twilio.ReceiveUntilEndAsync();

        Assert.Equal("end", frames[^1].GetProperty("type").GetString());
        var before = frames[^2];
        Assert.Equal("text", before.GetProperty("type").GetString());
        Assert.True(before.GetProperty("last").GetBoolean());
        Assert.Equal("Goodbye!", RelayClient.Text(frames));
    }

    private static async IAsyncEnumerable<ModelStreamEvent> FailsMidSentence([EnumeratorCancellation] CancellationToken ct)
    {
        yield return new TextDelta("Today's special is the");
        await Task.Delay(10, ct);
        throw new LanguageModelUnavailableException("stream broke");
    }
}
