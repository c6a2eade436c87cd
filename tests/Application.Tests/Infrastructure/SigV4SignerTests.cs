using System.Text;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using VoiceAgent.Infrastructure.Aws;

namespace VoiceAgent.Application.Tests.Infrastructure;

/// <summary>
/// Our SigV4 signer against the AWS SDK's own (<c>AWSSigV4Signer</c>) as the oracle: the same request, credentials and
/// instant give the same headers and the same signature, for model ids and ARNs that the canonical URI encodes twice,
/// with and without a session token, on a default and a non-default port.
/// </summary>
public sealed class SigV4SignerTests
{
    private const string Json = "application/json";
    private const string EventStream = "application/vnd.amazon.eventstream";

    public static TheoryData<string, string, bool> Requests => new()
    {
        { "https://bedrock-runtime.us-east-1.amazonaws.com", "us.anthropic.claude-3-5-haiku-20241022-v1:0", false },
        { "https://bedrock-runtime.eu-west-1.amazonaws.com", "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0", true },
        { "http://127.0.0.1:5402", "amazon.nova-micro-v1:0", true },
        { "https://bedrock-runtime.us-east-1.amazonaws.com", "model with spaces+plus~tilde", false },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Signs_as_the_AWS_SDK_signs(string endpoint, string profile, bool session)
    {
        var region = new Uri(endpoint).Host.Split('.') is [_, var r, ..] && r.Contains('-', StringComparison.Ordinal) ? r : "us-east-1";
        var credentials = session
            ? new ImmutableCredentials("ASIAEXAMPLE1234567890", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEBoaCXVzLWVhc3QtMSJHMEUCIQD/example+token==")
            : new ImmutableCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null);
        var at = new DateTimeOffset(2026, 11, 28, 1, 2, 3, TimeSpan.Zero);
        var body = Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":[{"text":"Une pizza, s'il vous plaît — große"}]}]}""");
        var uri = new Uri(new Uri(endpoint), $"/model/{Uri.EscapeDataString(profile)}/converse-stream");

        var fallback = new Uri(new Uri(endpoint), $"/model/{Uri.EscapeDataString("eu.amazon.nova-pro-v1:0")}/converse-stream");

        // One signer, as the service keeps one: the date and scope it keeps for a second move on with the clock,
        // across a second and across midnight; the path and host it keeps for a URI follow the URI each request has
        // (the same object, another profile's, an equal one made again).
        var signer = new SigV4Signer(region, "bedrock");
        var targets = new[] { uri, fallback, uri, new Uri(uri.AbsoluteUri), fallback, uri };
        foreach (var (when, target) in new[] { at, at.AddMilliseconds(999), at.AddSeconds(1), at.AddHours(23), at.AddDays(1), at }.Zip(targets))
        {
            var ours = new HttpRequestMessage(HttpMethod.Post, target);
            signer.Sign(ours, body, Json, EventStream, credentials, when);

            var sdk = await SdkSignAsync(target, body, new() { ["Content-Type"] = Json, ["Accept"] = EventStream }, credentials, region, "bedrock", when);

            Assert.Equal(Header(sdk.Headers, "Authorization"), Single(ours, "Authorization"));
            Assert.Equal(Header(sdk.Headers, "X-Amz-Date"), Single(ours, "X-Amz-Date"));
            Assert.Equal(Header(sdk.Headers, "X-Amz-Content-SHA256"), Single(ours, "X-Amz-Content-SHA256"));
            Assert.Equal(session ? credentials.Token : null, ours.Headers.TryGetValues("X-Amz-Security-Token", out var token) ? token.Single() : null);
        }
    }

    [Theory]
    [InlineData("https://dynamodb.eu-west-1.amazonaws.com/", "eu-west-1", false)]
    [InlineData("http://127.0.0.1:5401/", "us-east-1", true)]
    public async Task Signs_a_DynamoDB_operation_with_its_target_header_as_the_AWS_SDK_signs(string endpoint, string region, bool session)
    {
        const string AmzJson = "application/x-amz-json-1.0";
        const string Target = "DynamoDB_20120810.BatchWriteItem";
        var credentials = session
            ? new ImmutableCredentials("ASIAEXAMPLE1234567890", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEBoaCXVzLWVhc3QtMSJHMEUCIQD/example+token==")
            : new ImmutableCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null);
        var at = new DateTimeOffset(2026, 11, 28, 1, 2, 3, TimeSpan.Zero);
        var body = Encoding.UTF8.GetBytes("""{"RequestItems":{"voiceagent":[{"PutRequest":{"Item":{"pk":{"S":"CALL#CA1"},"n":{"N":"1"}}}}]}}""");
        var uri = new Uri(endpoint);

        var ours = new HttpRequestMessage(HttpMethod.Post, uri);
        new SigV4Signer(region, "dynamodb").Sign(ours, body, AmzJson, AmzJson, credentials, at, Target);

        var sdk = await SdkSignAsync(
            uri, body, new() { ["Content-Type"] = AmzJson, ["Accept"] = AmzJson, ["X-Amz-Target"] = Target }, credentials, region, "dynamodb", at);

        Assert.Equal(Header(sdk.Headers, "Authorization"), Single(ours, "Authorization"));
        Assert.Contains("x-amz-target", Single(ours, "Authorization"), StringComparison.Ordinal);
        Assert.Equal(Target, Single(ours, "X-Amz-Target"));
    }

    [Fact]
    public void The_signature_changes_with_the_day_the_body_and_the_secret()
    {
        var uri = new Uri("https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse-stream");
        var signer = new SigV4Signer("us-east-1", "bedrock");
        var at = new DateTimeOffset(2026, 11, 28, 23, 59, 59, TimeSpan.Zero);
        string Sign(string body, DateTimeOffset when, string secret)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, uri);
            signer.Sign(request, Encoding.UTF8.GetBytes(body), Json, EventStream, new ImmutableCredentials("AKIDEXAMPLE", secret, null), when);
            return Single(request, "Authorization");
        }

        var first = Sign("{}", at, "secret-a");
        Assert.Equal(first, Sign("{}", at, "secret-a"));
        Assert.NotEqual(first, Sign("{ }", at, "secret-a"));
        Assert.NotEqual(first, Sign("{}", at, "secret-b"));
        var nextDay = Sign("{}", at.AddSeconds(1), "secret-a");
        Assert.Contains("/20261129/us-east-1/bedrock/aws4_request", nextDay, StringComparison.Ordinal);
        Assert.Equal(first, Sign("{}", at, "secret-a")); // the cached key follows the day back
    }

    /// <summary>The oracle: the AWS SDK's signer on the same request, credentials and instant.</summary>
    private static async Task<AWSSigningResult> SdkSignAsync(
        Uri uri, byte[] body, Dictionary<string, string> headers, ImmutableCredentials credentials, string region, string service, DateTimeOffset at)
    {
        var request = new AWSSigningRequest { HttpMethod = HttpMethod.Post, RequestUri = uri, Content = body };
        foreach (var (name, value) in headers)
        {
            request.Headers[name] = value;
        }

        return await AWSSigV4Signer.SignAsync(
            request,
            new AWSSigV4Parameters
            {
                Credentials = credentials.UseToken
                    ? new SessionAWSCredentials(credentials.AccessKey, credentials.SecretKey, credentials.Token)
                    : new BasicAWSCredentials(credentials.AccessKey, credentials.SecretKey),
                Region = RegionEndpoint.GetBySystemName(region),
                Service = service,
                SignPayload = true,
                SignedAt = at.UtcDateTime,
            },
            CancellationToken.None);
    }

    private static string Single(HttpRequestMessage request, string name) => request.Headers.GetValues(name).Single();

    private static string Header(IDictionary<string, string> headers, string name) =>
        headers.Single(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}
