extern alias simulator;

using System.Text.Json;
using simulator::VoiceAgent.Simulator.Evals;

namespace VoiceAgent.Integration.Tests;

/// <summary>The eval checks on what a caller heard, and the judge's reply, without a service.</summary>
public sealed class EvalChecksTests
{
    [Theory]
    [InlineData("Sure, a large pepperoni is twelve fifty.", 1)]
    [InlineData("That's 12.50 for the large. Anything else?", 2)]
    [InlineData("Unit 3C is free! Want to see it? I can book Tuesday", 3)]
    [InlineData("Okay... let me check. Done.", 2)]
    [InlineData("", 0)]
    public void Sentences_are_counted_as_a_listener_hears_them(string text, int sentences) =>
        Assert.Equal(sentences, Checks.Sentences(text));

    [Theory]
    [InlineData("We have **three** pizzas.", "**")]
    [InlineData("Our pizzas:\n1. Pepperoni\n2. Margherita", "1.")]
    [InlineData("Options:\n- pickup\n- delivery", "-")]
    [InlineData("## Menu", "##")]
    [InlineData("See [our menu](https://example.com).", "[our menu](https://example.com)")]
    [InlineData("Use the `place_order` tool.", "`")]
    [InlineData("A large pepperoni - twelve fifty - ready at 6.", null)]
    [InlineData("It's 2 for 1 on Tuesdays, and 10% off pickup.", null)]
    public void Markdown_is_found_where_a_voice_would_read_symbols(string text, string? mark) =>
        Assert.Equal(mark, Checks.MarkdownIn(text));

    [Fact]
    public void A_tool_matches_when_the_expected_arguments_are_there_whatever_else_is()
    {
        var called = new CalledTool("place_order", """{"fulfilment":"pickup","customer_name":"Ana","items":[{"item":"garlic knots","quantity":1},{"item":"Pepperoni","quantity":1,"size":"large"}]}""", "Success");

        Assert.True(Checks.Matches(new ToolExpectation("place_order", """{"customer_name":"ana","items":[{"item":"pepperoni","size":"large"}]}"""), called));
        Assert.True(Checks.Matches(new ToolExpectation("place_order", null), called));
        Assert.False(Checks.Matches(new ToolExpectation("place_order", """{"fulfilment":"delivery"}"""), called));
        Assert.False(Checks.Matches(new ToolExpectation("place_order", """{"items":[{"item":"pepperoni","size":"small"}]}"""), called));
        Assert.False(Checks.Matches(new ToolExpectation("place_order", """{"tip":5}"""), called));
        Assert.False(Checks.Matches(new ToolExpectation("end_call", null), called));
    }

    [Fact]
    public void Tools_are_expected_in_order_with_others_between()
    {
        CalledTool Tool(string name) => new(name, "{}", "Success");
        var called = new[] { Tool("check_pickup_time"), Tool("place_order"), Tool("end_call") };

        Assert.True(Checks.ToolsInOrder([new("check_pickup_time", null), new("end_call", null)], called).Passed);
        var backwards = Checks.ToolsInOrder([new("end_call", null), new("place_order", null)], called);
        Assert.False(backwards.Passed);
        Assert.Equal("calls end_call, then place_order", backwards.Name);
        Assert.Equal("called: check_pickup_time {}; place_order {}; end_call {}", backwards.Detail);
    }

    [Theory]
    [InlineData("{\"pass\": true, \"reason\": \"Short and polite.\"}", true, "Short and polite.", false)]
    [InlineData("Here is my verdict:\n```json\n{\"pass\": false, \"reason\": \"It used a list.\"}\n```", false, "It used a list.", false)]
    [InlineData("I think it passes.", false, "the judge's reply held no JSON verdict", true)]
    [InlineData("{\"verdict\": \"pass\"}", false, "the judge's verdict had no \"pass\"", true)]
    public void The_judges_verdict_is_read_from_its_reply(string reply, bool passed, string reason, bool error) =>
        Assert.Equal(new Verdict(passed, reason, error), Judge.Read(reply));

    [Fact]
    public void Every_expectation_of_a_scenario_applies_its_every_block_unless_the_turn_sets_its_own()
    {
        var file = Path.Combine(Path.GetTempPath(), $"eval-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """
            { "to": "+15550009999", "every": { "maxSentences": 3, "noMarkdown": true, "notSay": ["sorry"] },
              "turns": [ { "say": "Hi" }, { "dtmf": "2", "expect": { "maxSentences": 1, "notSay": ["pepperoni"] } } ] }
            """);
        try
        {
            var scenario = EvalScenario.Load(file);

            Assert.Equal(Path.GetFileNameWithoutExtension(file), scenario.Name);
            Assert.Equal((3, true), (scenario.Turns[0].Expect.MaxSentences!.Value, scenario.Turns[0].Expect.NoMarkdown!.Value));
            Assert.Equal((1, "[keys 2]"), (scenario.Turns[1].Expect.MaxSentences!.Value, scenario.Turns[1].Describe));
            Assert.Equal(["sorry", "pepperoni"], scenario.Turns[1].Expect.NotSay);
            Assert.False(scenario.NeedsCallRecord);
            _ = JsonSerializer.Serialize(scenario.Expect);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
