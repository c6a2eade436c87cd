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
}
