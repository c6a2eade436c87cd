using Microsoft.Extensions.Hosting;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Relay.PromptReceived;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

/// <summary>
/// A long call keeps a bounded context: past the use case's budget the older exchanges are folded into a running
/// summary by a background model call, and later requests carry the summary and only the latest exchanges.
/// </summary>
public sealed class ContextBudgetTests
{
    [Fact]
    public async Task Past_the_budget_the_older_history_is_summarised_in_the_background_and_sent_as_a_summary()
    {
        var useCase = new UseCase(
            "pizza", "Pizza", "You take pizza orders. Caller: {{caller.name}}.", new RelaySettings(),
            new ModelSettings { ContextBudgetChars = 200, SummaryProfile = "cheap-profile", InferenceProfiles = ["main-profile"] });
        await using var harness = new Harness(useCase);
        harness.Model
            .ThenSays("Hello! What would you like to order today for your party?")
            .ThenSays("Twelve large pizzas for tonight, noted. Which toppings would you like?")
            .ThenSays("Ana ordered twelve large pizzas for a party tonight; toppings still open.")
            .ThenSays("Half pepperoni, half margherita it is.");
        var call = await harness.StartAsync();

        foreach (var line in new[] { "Hi, this is Ana, I'm organising a party.", "Twelve large pizzas for tonight please." })
        {
            await harness.Sender.Send(new PromptReceived(call.CallSid, line, Last: true, Lang: null));
            await call.IdleAsync();
        }

        // The second turn took the history past 200 characters: the summary is asked for off the turn's path.
        await WaitUntilAsync(() => harness.Model.Requests.Count == 3);
        var summaryRequest = harness.Model.Requests[2];
        Assert.Equal(["cheap-profile"], summaryRequest.Settings.InferenceProfiles);
        Assert.Empty(summaryRequest.Tools);
        var transcript = Assert.Single(summaryRequest.Messages).Text;
        Assert.Contains("Caller: Hi, this is Ana, I'm organising a party.", transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("Twelve large pizzas for tonight please.", transcript, StringComparison.Ordinal);
        // The summary comes back to the loop off the turn's path: the next turn is asked once it is in.
        await WaitUntilAsync(() => call.Call.Fold is not null);
        await call.IdleAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Half pepperoni, half margherita.", Last: true, Lang: null));
        await call.IdleAsync();

        var next = harness.Model.Requests[3];
        Assert.EndsWith("EARLIER IN THIS CALL (summary)\nAna ordered twelve large pizzas for a party tonight; toppings still open.", next.SystemPrompt, StringComparison.Ordinal);
        Assert.Equal("You take pizza orders. Caller: ".Length, next.StaticPromptLength);
        Assert.Equal(["Twelve large pizzas for tonight please.", "Twelve large pizzas for tonight, noted. Which toppings would you like?", "Half pepperoni, half margherita."], next.Messages.Select(m => m.Text));
        Assert.Equal(ConversationRole.User, next.Messages[0].Role);
        Assert.Equal(6, call.Conversation.Messages.Count); // the stored history keeps everything

        // The summary is kept with the call, for an instance that takes the call over.
        Assert.Equal(new ContextFold("Ana ordered twelve large pizzas for a party tonight; toppings still open.", 2), call.Call.Fold);
        var writer = harness.Get<IEnumerable<IHostedService>>().OfType<CallJournalWriter>().Single();
        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(call.Call.Fold, (await harness.Calls.GetAsync(call.CallSid, default))!.Fold);
    }

    [Fact]
    public async Task A_call_taken_over_from_another_instance_goes_on_from_the_summary_it_kept()
    {
        var request = await ResumeWithKeptSummaryAsync(
            "Ana is ordering for a party.", 2, "Half pepperoni, half margherita.",
            "Hi, Ana here, a party order.", "Hello Ana! What would you like?", "Twelve large pizzas.", "Twelve large, noted. Toppings?");

        Assert.EndsWith("EARLIER IN THIS CALL (summary)\nAna is ordering for a party.", request.SystemPrompt, StringComparison.Ordinal);
        Assert.Equal(["Twelve large pizzas.", "Twelve large, noted. Toppings?", "Half pepperoni, half margherita."], request.Messages.Select(m => m.Text));
    }

    [Theory]
    [InlineData(1)] // would start the request with the assistant
    [InlineData(4)] // more messages than were read back
    public async Task A_kept_summary_that_does_not_fit_the_history_read_back_is_not_used(int folded)
    {
        var request = await ResumeWithKeptSummaryAsync("Ana called.", folded, "Twelve large pizzas.", "Hi, Ana here.", "Hello Ana!");

        Assert.DoesNotContain("EARLIER IN THIS CALL", request.SystemPrompt, StringComparison.Ordinal);
        Assert.Equal(3, request.Messages.Count);
    }

    /// <summary>
    /// The model's request for the first prompt of a call resumed on this instance, whose stored copy has
    /// <paramref name="history"/> and a kept summary of its first <paramref name="folded"/> messages.
    /// </summary>
    private static async Task<ModelRequest> ResumeWithKeptSummaryAsync(string summary, int folded, string prompt, params string[] history)
    {
        await using var harness = new Harness(new UseCase("pizza", "Pizza", "You take pizza orders.", new RelaySettings(), new ModelSettings { ContextBudgetChars = 10_000 }));
        var stored = await ResumeTests.StoreLiveCallAsync(harness, "VX-old", history);
        stored.FoldContext(summary, folded);
        await harness.Calls.SaveAsync(stored, default);
        harness.Model.ThenSays("Sure.");

        var resumed = await harness.StartAsync(resume: true);
        await harness.Sender.Send(new PromptReceived(resumed.CallSid, prompt, Last: true, Lang: null));
        await resumed.IdleAsync();
        return Assert.Single(harness.Model.Requests);
    }

    [Fact]
    public async Task Within_the_budget_nothing_is_folded_and_a_failed_summary_leaves_the_history_verbatim()
    {
        var useCase = new UseCase("pizza", "Pizza", "You take pizza orders.", new RelaySettings(), new ModelSettings { ContextBudgetChars = 100 });
        await using var harness = new Harness(useCase);
        harness.Model
            .ThenSays("Hello there, what can I get you this evening?")
            .ThenSays("A large margherita, anything else with it tonight?")
            .Then((_, _) => throw new LanguageModelUnavailableException("summary profile down"))
            .ThenSays("Done.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Hi", Last: true, Lang: null));
        await call.IdleAsync();
        Assert.Single(harness.Model.Requests); // 47 characters: no summary

        await harness.Sender.Send(new PromptReceived(call.CallSid, "A large margherita please.", Last: true, Lang: null));
        await call.IdleAsync();
        await WaitUntilAsync(() => harness.Model.Requests.Count == 3);
        await Task.Delay(50);
        await call.IdleAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "That's all.", Last: true, Lang: null));
        await call.IdleAsync();
        var last = harness.Model.Requests[3];
        Assert.Equal(5, last.Messages.Count);
        Assert.DoesNotContain("EARLIER IN THIS CALL", last.SystemPrompt, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
