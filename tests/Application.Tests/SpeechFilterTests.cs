using VoiceAgent.Application.Conversations;
using VoiceAgent.Application.Relay.PromptReceived;

namespace VoiceAgent.Application.Tests;

public sealed class SpeechFilterTests
{
    [Theory]
    [InlineData("Sure<thinking>the caller wants pizza</thinking> thing.", "Sure thing.")]
    [InlineData("<THINKING>x < y</THINKING>Hello", "Hello")]
    [InlineData("**Large** pepperoni, _please_", "Large pepperoni, _please_")]
    [InlineData("# Menu\n- Margherita\n- `Pepperoni`\n1. Calzone", "Menu Margherita Pepperoni 1. Calzone")]
    [InlineData("See [our site](https://dough.example/menu?a=1) today.", "See our site today.")]
    [InlineData("3 < 5 and 7 > 2", "3 < 5 and 7 > 2")]
    [InlineData("Ends with <think", "Ends with <think")]
    public void What_reaches_TTS_is_the_same_however_the_stream_is_split(string model, string spoken)
    {
        Assert.Equal(spoken, Run(model, chunk: model.Length));
        Assert.Equal(spoken, Run(model, chunk: 1));
        Assert.Equal(spoken, Run(model, chunk: 4));
    }

    [Fact]
    public void A_delta_spoken_whole_comes_back_as_it_is_and_one_it_changes_as_new_text()
    {
        var filter = new SpeechFilter();
        var plain = "Sure, a large ";

        Assert.Same(plain, filter.Feed(plain));
        Assert.Equal("pepperoni", filter.Feed("**pepperoni**"));
        Assert.Equal(string.Empty, filter.Feed("<thinking>"));
        Assert.Equal(string.Empty, filter.Feed("hidden"));
        Assert.Equal(" coming up.", filter.Feed("</thinking> coming up."));
    }

    [Fact]
    public async Task The_turn_speaks_and_records_only_the_filtered_text()
    {
        await using var harness = new Harness();
        harness.Model.ThenSays("<thinking>They asked ", "about hours.</thinking>", "We're **open** until ten.");
        var call = await harness.StartAsync();

        await harness.Sender.Send(new PromptReceived(call.CallSid, "Hours?", true, null));
        await call.IdleAsync();

        Assert.Equal("We're open until ten.", harness.Output.HeardText);
        Assert.Equal("We're open until ten.", call.Conversation.Last!.Text);
    }

    private static string Run(string text, int chunk)
    {
        var filter = new SpeechFilter();
        var spoken = string.Empty;
        for (var i = 0; i < text.Length; i += chunk)
        {
            spoken += filter.Feed(text.Substring(i, Math.Min(chunk, text.Length - i)));
        }

        return spoken + filter.Flush();
    }
}
