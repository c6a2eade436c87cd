using System.Text.Json;
using VoiceAgent.Api.Twilio;

namespace VoiceAgent.Application.Tests.Api;

/// <summary>Golden signatures computed by Twilio's own helper library (npm twilio), see Vectors/SOURCE.md.</summary>
public sealed class SignatureVectorTests
{
    public static TheoryData<int> Cases()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Vectors().Count; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Fact]
    public void The_documented_example_matches()
    {
        var parameters = new Dictionary<string, string> { ["CallSid"] = "CA123", ["From"] = "+15550001", ["To"] = "+15550002" };
        Assert.Equal("kVtlnJsYvBFuJyh1gm5YlTzzzQc=", TwilioSignature.Compute("12345", "https://example.com/voice?x=1", parameters));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_vector_validates_and_a_changed_one_does_not(int index)
    {
        var v = Vectors()[index];
        if (v.Body is not null)
        {
            Assert.True(TwilioSignature.IsValidWithBody(v.AuthToken, v.Url, v.Body, v.Signature));
            Assert.False(TwilioSignature.IsValidWithBody(v.AuthToken, v.Url, v.Body + " ", v.Signature));
            return;
        }

        Assert.Equal(v.Signature, TwilioSignature.Compute(v.AuthToken, v.Url, v.Params));
        Assert.True(TwilioSignature.IsValid(v.AuthToken, v.Url, v.Params, v.Signature));
        Assert.False(TwilioSignature.IsValid(v.AuthToken + "x", v.Url, v.Params, v.Signature));
        Assert.False(TwilioSignature.IsValid(v.AuthToken, v.Url + "x", v.Params, v.Signature));
        var tampered = v.Params.Append(new("Extra", "1")).ToList();
        Assert.False(TwilioSignature.IsValid(v.AuthToken, v.Url, tampered, v.Signature));
    }

    [Fact]
    public void A_signature_over_the_url_with_or_without_the_default_port_is_accepted()
    {
        var parameters = new Dictionary<string, string> { ["CallSid"] = "CA1" };
        var withPort = TwilioSignature.Compute("tok", "https://voice.example.com:443/twiml", parameters);
        var withoutPort = TwilioSignature.Compute("tok", "https://voice.example.com/twiml", parameters);

        Assert.True(TwilioSignature.IsValid("tok", "https://voice.example.com/twiml", parameters, withPort));
        Assert.True(TwilioSignature.IsValid("tok", "https://voice.example.com:443/twiml", parameters, withoutPort));
        Assert.False(TwilioSignature.IsValid("tok", "https://voice.example.com:8443/twiml", parameters, withoutPort));
    }

    [Theory]
    [InlineData("https://a.example/x?y=1", "https://a.example:443/x?y=1")]
    [InlineData("https://a.example:443/x", "https://a.example/x")]
    [InlineData("wss://a.example/ws", "wss://a.example:443/ws")]
    [InlineData("http://a.example:80", "http://a.example")]
    public void Port_variants_only_touch_the_port(string url, string variant)
    {
        Assert.Equal([url, variant], TwilioSignature.PortVariants(url));
    }

    [Fact]
    public void Missing_or_empty_signatures_never_validate()
    {
        Assert.False(TwilioSignature.IsValid("tok", "https://a.example/x", [], null));
        Assert.False(TwilioSignature.IsValid("tok", "https://a.example/x", [], string.Empty));
        Assert.False(TwilioSignature.IsValid(string.Empty, "https://a.example/x", [], "abc="));
    }

    internal static List<Vector> Vectors()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Vectors", "twilio-signatures.json");
        return JsonSerializer.Deserialize<List<Vector>>(File.ReadAllText(path), WebJson)!;
    }

    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    internal sealed record Vector(string AuthToken, string Url, Dictionary<string, string> Params, string Signature, string? Body);
}
