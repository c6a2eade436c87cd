using Microsoft.Extensions.Options;

namespace VoiceAgent.Integration.Tests;

public sealed class StartupTests
{
    [Fact]
    public void Signature_checks_cannot_be_switched_off_outside_Development()
    {
        using var factory = new VoiceAgentFactory(realModel: false, settings: new Dictionary<string, string?> { ["Twilio:ValidateSignatures"] = "false" }) { Environment = "Production" };
        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());
        Assert.Contains("only allowed in the Development environment", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_settings_stop_the_start_with_a_clear_message()
    {
        using var factory = new VoiceAgentFactory(realModel: false, settings: new Dictionary<string, string?>
        {
            ["Twilio:AuthToken"] = string.Empty,
            ["Llm:Model"] = string.Empty,
        });
        var error = Assert.Throws<AggregateException>(() => factory.CreateClient());
        var messages = string.Join(" | ", error.InnerExceptions.Select(e => e.Message));
        Assert.Contains("Twilio:AuthToken is required", messages, StringComparison.Ordinal);
        Assert.Contains("Llm:Model is required", messages, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_default_use_case_stops_the_start()
    {
        using var factory = new VoiceAgentFactory(realModel: false, settings: new Dictionary<string, string?> { ["Conversation:DefaultUseCaseId"] = "nope" });
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("no use case with that id", error.Message, StringComparison.Ordinal);
    }
}
