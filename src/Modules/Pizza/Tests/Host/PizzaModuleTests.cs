using VoiceAgent.Integration.Tests;

namespace VoiceAgent.Modules.Pizza.Tests;

/// <summary>The pizza module's one source of truth: the menu that prices orders is the menu the prompt shows.</summary>
public sealed class PizzaModuleTests
{
    [Fact]
    public async Task The_prompt_shows_the_menu_and_kitchen_times_the_tools_use()
    {
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?> { ["Pizza:PickupMinutes"] = "25" });
        factory.Model.ThenSays("Hello!");
        await using var twilio = await factory.ConnectRelayAsync();
        await twilio.SetupAsync();
        await twilio.PromptAsync("What do you have?");
        await twilio.ReceiveAnswerAsync();

        var prompt = Assert.Single(factory.Model.Requests).SystemPrompt;
        Assert.Contains("- Pepperoni: tomato, mozzarella, pepperoni. Small 12.00, large 16.50.", prompt, StringComparison.Ordinal);
        Assert.Contains("- Calzone: ricotta, mozzarella, ham, mushrooms. 13.50.", prompt, StringComparison.Ordinal);
        Assert.Contains("Extra topping: 1.50 each.", prompt, StringComparison.Ordinal);
        Assert.Contains("Pickup is usually ready in 25 minutes.", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("{{", prompt, StringComparison.Ordinal);

        // The seed use case holds no price of its own to drift from the menu.
        var seed = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "seed", "usecases", "pizza.json"));
        Assert.DoesNotContain("16.50", seed, StringComparison.Ordinal);
        Assert.Contains("{{menu}}", seed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_call_shares_the_prompt_up_to_its_own_values_so_the_model_can_cache_it()
    {
        await using var factory = new VoiceAgentFactory(realModel: false);
        factory.Model.ThenSays("Hello Ana!").ThenSays("Hello!");
        await using (var ana = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000c01"))
        {
            await ana.SetupAsync();
            await ana.PromptAsync("Hi");
            await ana.ReceiveAnswerAsync();
        }

        await using (var stranger = await factory.ConnectRelayAsync(callSid: "CA00000000000000000000000000000c02", from: "+15550007777"))
        {
            await stranger.SetupAsync();
            await stranger.PromptAsync("Hi");
            await stranger.ReceiveAnswerAsync();
        }

        var (first, second) = (factory.Model.Requests[0], factory.Model.Requests[1]);
        var shared = first.SystemPrompt[..first.StaticPromptLength!.Value];
        Assert.Equal(shared, second.SystemPrompt[..second.StaticPromptLength!.Value]);
        Assert.Contains("Pepperoni", shared, StringComparison.Ordinal);
        Assert.EndsWith("THIS CALL\nToday is ", shared, StringComparison.Ordinal);
        Assert.Contains("Ana", first.SystemPrompt[shared.Length..], StringComparison.Ordinal);
        Assert.DoesNotContain("Ana", second.SystemPrompt, StringComparison.Ordinal);

        Assert.Equal("pizza", first.Metadata!["useCase"]);
        Assert.Matches("^[0-9a-f]{32}$", first.Metadata["call"]);
        Assert.NotEqual(first.Metadata["call"], second.Metadata!["call"]);
        Assert.DoesNotContain("c01", first.Metadata["call"], StringComparison.Ordinal);
    }
}
