using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

/// <summary>The tools every use case may list: end the call, hand off, send tones, switch language.</summary>
public sealed class BuiltInToolTests
{
    [Fact]
    public async Task End_call_sends_end_and_does_not_ask_the_model_again()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["end_call"]));
        harness.Model.Then((_, ct) => ScriptedModel.ToolUse("end_call", "{}", ct, new TextDelta("Goodbye!")));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "That's all, bye", true, null));
        await call.IdleAsync();

        Assert.Single(harness.Model.Requests);
        Assert.Equal(["Goodbye!"], harness.Output.Heard.Select(h => h.Token));
        var end = Assert.IsType<EndRelay>(harness.Output.Sent[^1].Message);
        Assert.Null(end.HandoffData);
        Assert.Empty(call.Conversation.PendingToolUses);
    }

    [Fact]
    public async Task Live_agent_handoff_ends_the_session_with_reason_code_and_summary()
    {
        var useCase = Harness.PizzaUseCase(["live_agent_handoff"], handoff: new HandoffSettings(HandoffMode.Enqueue, "support"));
        await using var harness = new Harness(useCase);
        harness.Model.Then((_, ct) => ScriptedModel.ToolUse("live_agent_handoff", """{"reason_code":"user_requested","summary":"Ana wants to change yesterday's order."}""", ct));
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A person please", true, null));
        await call.IdleAsync();

        var end = Assert.IsType<EndRelay>(harness.Output.Sent[^1].Message);
        using var data = JsonDocument.Parse(end.HandoffData!);
        Assert.Equal("user-requested", data.RootElement.GetProperty("reason_code").GetString());
        Assert.Equal("Ana wants to change yesterday's order.", data.RootElement.GetProperty("summary").GetString());
    }

    [Fact]
    public async Task Without_handoff_settings_the_model_is_told_no_one_can_take_the_call()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["live_agent_handoff"]));
        harness.Model.Then((_, ct) => ScriptedModel.ToolUse("live_agent_handoff", """{"reason_code":"complaint","summary":"x"}""", ct)).ThenSays("I can take a message.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A person please", true, null));
        await call.IdleAsync();

        Assert.DoesNotContain(harness.Output.Sent, s => s.Message is EndRelay);
        Assert.Equal(ToolResultStatus.Error, Assert.Single(call.Conversation.Messages[2].ToolResults).Status);
    }

    [Fact]
    public async Task Switching_language_sends_the_language_message_for_an_offered_language_only()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["switch_language"]));
        harness.Model
            .Then((_, ct) => ScriptedModel.ToolUse("switch_language", """{"language":"es-us"}""", ct))
            .ThenSays("¡Claro!")
            .Then((_, ct) => ScriptedModel.ToolUse("switch_language", """{"language":"fr-FR"}""", ct))
            .ThenSays("Sorry, no French.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Español por favor", true, null));
        await call.IdleAsync();
        await harness.Sender.Send(new PromptReceived(call.CallSid, "Français?", true, null));
        await call.IdleAsync();

        var switched = Assert.Single(harness.Output.Sent.Select(s => s.Message).OfType<SwitchLanguage>());
        Assert.Equal(("es-US", "es-US"), (switched.TtsLanguage, switched.TranscriptionLanguage));
        Assert.Equal("es-US", call.Language);
        Assert.Contains("fr-FR", call.Conversation.Messages[^2].ToolResults.Single().Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_dtmf_sends_valid_tones_and_refuses_others()
    {
        await using var harness = new Harness(Harness.PizzaUseCase(["send_dtmf"]));
        harness.Model
            .Then((_, ct) => ScriptedModel.ToolUse("send_dtmf", """{"digits":"12w#"}""", ct))
            .Then((_, ct) => ScriptedModel.ToolUse("send_dtmf", """{"digits":"12; rm -rf"}""", ct))
            .ThenSays("Done.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Press one two", true, null));
        await call.IdleAsync();

        Assert.Equal("12w#", Assert.Single(harness.Output.Sent.Select(s => s.Message).OfType<SendDigits>()).Digits);
        Assert.Equal(ToolResultStatus.Error, call.Conversation.Messages[4].ToolResults.Single().Status);
    }
}
