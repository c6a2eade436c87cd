using System.Text;
using System.Text.Json;
using VoiceAgent.Api.Relay;

namespace VoiceAgent.Application.Tests.Api;

/// <summary>Reading prompt frames: only as much text as an utterance may hold is decoded.</summary>
public sealed class RelayFrameTests
{
    private static readonly JsonSerializerOptions Unescaped = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Theory]
    [InlineData("""{"type":"prompt","voicePrompt":"Hello there","lang":"en-US","last":false}""", "Hello there", false, "en-US")]
    [InlineData("""{"type":"prompt","voicePrompt":"Hi","extra":{"a":[1,2]}}""", "Hi", true, null)]
    [InlineData("""{"voicePrompt":"caf\u00e9 \"quoted\"","last":true,"lang":null}""", "café \"quoted\"", true, null)]
    public void A_prompt_frame_is_read_whole_when_short(string json, string text, bool last, string? lang)
    {
        var prompt = RelayFrame.ReadPrompt(Encoding.UTF8.GetBytes(json), 2_001);
        Assert.Equal((text, last, lang), (prompt.VoicePrompt, prompt.Last, prompt.Lang));
    }

    [Theory]
    [InlineData("pepperoni ")]
    [InlineData("crème brûlée 🍕 ")]
    public void A_long_prompt_is_decoded_only_up_to_the_limit_and_never_splits_a_character(string word)
    {
        var long_ = string.Concat(Enumerable.Repeat(word, 5_000));
        var json = JsonSerializer.Serialize(new { type = "prompt", voicePrompt = long_, last = false }, Unescaped);

        var prompt = RelayFrame.ReadPrompt(Encoding.UTF8.GetBytes(json), 2_001);

        Assert.InRange(prompt.VoicePrompt.Length, 2_000, 2_001);
        Assert.StartsWith(prompt.VoicePrompt, long_, StringComparison.Ordinal);
        Assert.False(char.IsHighSurrogate(prompt.VoicePrompt[^1]));
        Assert.False(prompt.Last);
    }

    [Theory]
    [InlineData("""{"type":"prompt"}""")]
    [InlineData("""{"type":"prompt","voicePrompt":42}""")]
    [InlineData("""{"type":"prompt","voicePrompt":"x","last":"yes"}""")]
    [InlineData("""[1]""")]
    [InlineData("""{"type":"prompt","voicePrompt":"x"} trailing""")]
    public void A_malformed_prompt_is_a_bad_frame(string json) =>
        Assert.ThrowsAny<JsonException>(() => RelayFrame.ReadPrompt(Encoding.UTF8.GetBytes(json), 2_001));
}
