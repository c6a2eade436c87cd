using System.Net.WebSockets;
using VoiceAgent.Api.Relay;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Persistence;

namespace VoiceAgent.Integration.Tests;

/// <summary>
/// Who may open a relay session: only the holder of the fresh, single-use ticket a call's TwiML carried, and only
/// for that call. Played from outside, as an attacker with a captured URL and signature would.
/// </summary>
public sealed class RelayTicketTests
{
    private const string OtherCall = "CA99990000000000000000000000000001";

    [Fact]
    public async Task Each_call_gets_its_own_relay_url_and_the_bare_path_is_refused_even_when_signed()
    {
        await using var factory = new VoiceAgentFactory();
        var first = await factory.AnswerAsync(RelayClient.CallSid);
        var second = await factory.AnswerAsync(OtherCall);
        Assert.NotEqual(first, second);
        Assert.StartsWith("wss://voice.example.com/ws?ticket=", first, StringComparison.Ordinal);

        // What one captured signature of the old fixed URL would open: nothing.
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => factory.ConnectToAsync("wss://voice.example.com/ws"));
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_used_ticket_is_refused_while_its_call_is_live_and_after_it_ended()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model.ThenSays("Hello!");
        var url = await factory.AnswerAsync();
        await using (var twilio = await factory.ConnectToAsync(url))
        {
            await twilio.SetupAsync();
            await twilio.PromptAsync("Hi");
            Assert.Equal("Hello!", RelayClient.Text(await twilio.ReceiveAnswerAsync()));

            // The same URL and the same signature, replayed during the call.
            var whileLive = await Assert.ThrowsAnyAsync<Exception>(() => factory.ConnectToAsync(url));
            Assert.Contains("403", whileLive.Message, StringComparison.Ordinal);
        }

        await WaitForSessionsToCloseAsync(factory);
        var afterEnd = await Assert.ThrowsAnyAsync<Exception>(() => factory.ConnectToAsync(url));
        Assert.Contains("403", afterEnd.Message, StringComparison.Ordinal);
        Assert.Single(factory.Model.Requests);
    }

    [Fact]
    public async Task Expired_and_altered_tickets_are_refused()
    {
        await using var factory = new VoiceAgentFactory();
        var codec = factory.Get<RelayTicketCodec>();
        var call = new CallContext(RelayClient.CallSid, "+15550001234", "+15550009999", "pizza", new Dictionary<string, string>());
        var expired = codec.Seal(call, DateTimeOffset.UtcNow.AddSeconds(-1));
        var error = await Assert.ThrowsAnyAsync<Exception>(() => factory.ConnectToAsync("wss://voice.example.com/ws?ticket=" + expired));
        Assert.Contains("403", error.Message, StringComparison.Ordinal);

        var url = await factory.AnswerAsync();
        var ticket = url[(url.IndexOf('=', StringComparison.Ordinal) + 1)..];
        var flipped = ticket[..20] + (ticket[20] == 'A' ? 'B' : 'A') + ticket[21..];
        error = await Assert.ThrowsAnyAsync<Exception>(() => factory.ConnectToAsync("wss://voice.example.com/ws?ticket=" + flipped));
        Assert.Contains("403", error.Message, StringComparison.Ordinal);

        // A ticket sealed with another deployment's secret is as good as a forged one.
        await using var elsewhere = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?> { ["Relay:TicketSecret"] = new string('k', 40) });
        var foreign = await elsewhere.AnswerAsync();
        error = await Assert.ThrowsAnyAsync<Exception>(() => factory.ConnectToAsync(foreign));
        Assert.Contains("403", error.Message, StringComparison.Ordinal);

        // The genuine ticket still opens its session.
        await using var twilio = await factory.ConnectToAsync(url);
        Assert.Equal(WebSocketState.Open, twilio.Socket.State);
    }

    [Fact]
    public async Task A_setup_that_names_another_call_is_closed_with_1008_before_any_model_call_and_that_call_is_untouched()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model.ThenSays("Noted, ", "a margherita.").ThenSays("Still with you.");
        await using var victim = await factory.ConnectRelayAsync(callSid: OtherCall);
        await victim.SetupAsync();
        await victim.PromptAsync("A margherita to 42 Elm Street");
        Assert.Equal("Noted, a margherita.", RelayClient.Text(await victim.ReceiveAnswerAsync()));
        var history = await WaitForMessagesAsync(factory, OtherCall, 2);

        // A genuine ticket for one call, then a setup that claims the other, live call.
        await using var attacker = await factory.ConnectRelayAsync(callSid: RelayClient.CallSid);
        await attacker.SetupAsync(callSid: OtherCall);
        await attacker.PromptAsync("What did I order?");
        Assert.Null(await attacker.ReceiveAsync());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, attacker.Socket.CloseStatus);

        Assert.Single(factory.Model.Requests);
        Assert.Equal(history.Select(m => m.Text), (await WaitForMessagesAsync(factory, OtherCall, 2)).Select(m => m.Text));
        Assert.Empty(await factory.Get<ICallRepository>().GetMessagesAsync(RelayClient.CallSid, CancellationToken.None));

        // The real call goes on.
        await victim.PromptAsync("Thanks");
        Assert.Equal("Still with you.", RelayClient.Text(await victim.ReceiveAnswerAsync()));
    }

    [Fact]
    public async Task The_caller_and_use_case_come_from_the_signed_webhook_not_from_setup()
    {
        await using var factory = new VoiceAgentFactory();
        factory.Model.ThenSays("Hello there.");

        // The webhook saw an unknown caller; setup claims to be Ana (a profile) and asks for another use case.
        await using var twilio = await factory.ConnectRelayAsync(from: "+15550007777");
        await twilio.SendJsonAsync(new
        {
            type = "setup",
            sessionId = "VX0123456789abcdef0123456789abcdef",
            callSid = RelayClient.CallSid,
            from = "+15550001234",
            to = "+15550000000",
            customParameters = new Dictionary<string, string> { ["useCaseId"] = "other", ["callerName"] = "Mallory" },
        });
        await twilio.PromptAsync("Who am I?");
        Assert.Equal("Hello there.", RelayClient.Text(await twilio.ReceiveAnswerAsync()));

        var prompt = Assert.Single(factory.Model.Requests).SystemPrompt;
        Assert.DoesNotContain("Ana", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("Mallory", prompt, StringComparison.Ordinal);
        Assert.True(factory.Get<IActiveCallRegistry>().TryGet(RelayClient.CallSid, out var live));
        Assert.Equal(("+15550007777", "+15550009999", "pizza"), (live!.Call.From, live.Call.To, live.UseCase.Id));
    }

    private static async Task WaitForSessionsToCloseAsync(VoiceAgentFactory factory)
    {
        var registry = factory.Get<IActiveCallRegistry>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (registry.Count > 0)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private static async Task<IReadOnlyList<VoiceAgent.Domain.Conversations.ConversationMessage>> WaitForMessagesAsync(VoiceAgentFactory factory, string callSid, int count)
    {
        var repository = factory.Get<ICallRepository>();
        var journal = factory.Get<ICallJournal>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var messages = await repository.GetMessagesAsync(callSid, timeout.Token);
            if (messages.Count >= count && journal.Pending == 0)
            {
                return messages;
            }

            await Task.Delay(10, timeout.Token);
        }
    }
}
