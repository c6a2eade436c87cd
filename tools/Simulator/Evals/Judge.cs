using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace VoiceAgent.Simulator.Evals;

/// <summary>A judge's verdict on one free-text expectation; <see cref="Error"/> when the judge gave none (the check is skipped).</summary>
public sealed record Verdict(bool Passed, string Reason, bool Error = false);

/// <summary>
/// A judge model behind any OpenAI-compatible chat completions API (OpenAI, Bedrock's OpenAI-compatible endpoint,
/// Ollama, vLLM): given a criterion and what the caller heard, it answers pass or fail with a reason, as JSON.
/// </summary>
public sealed class Judge(HttpClient http, Uri endpoint, string model, string? apiKey)
{
    private const string Instructions =
        "You grade a phone agent's behaviour in a call transcript against one criterion. The agent speaks on the phone, " +
        "so judge only what the caller heard. Reply with JSON only, no other text: {\"pass\": true or false, \"reason\": \"one short sentence\"}.";

    public async Task<Verdict> JudgeAsync(string criterion, string transcript, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(new
        {
            model,
            temperature = 0,
            max_tokens = 200,
            messages = new object[]
            {
                new { role = "system", content = Instructions },
                new { role = "user", content = $"Criterion: {criterion}\n\nTranscript:\n{transcript}" },
            },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint.ToString().TrimEnd('/') + "/chat/completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (!string.IsNullOrEmpty(apiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        try
        {
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return new Verdict(false, $"the judge answered {(int)response.StatusCode}", Error: true);
            }

            using var completion = JsonDocument.Parse(text);
            var content = completion.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() ?? string.Empty;
            return Read(content);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or IndexOutOfRangeException or InvalidOperationException or TaskCanceledException)
        {
            return new Verdict(false, "the judge gave no verdict: " + ex.Message, Error: true);
        }
    }

    /// <summary>The verdict in the judge's reply: the first JSON object in it (models wrap JSON in prose or code fences).</summary>
    public static Verdict Read(string content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var start = content.IndexOf('{', StringComparison.Ordinal);
        var end = content.LastIndexOf('}');
        if (start < 0 || end <= start)
        {
            return new Verdict(false, "the judge's reply held no JSON verdict", Error: true);
        }

        try
        {
            using var verdict = JsonDocument.Parse(content[start..(end + 1)]);
            var root = verdict.RootElement;
            if (!root.TryGetProperty("pass", out var pass) || pass.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return new Verdict(false, "the judge's verdict had no \"pass\"", Error: true);
            }

            var reason = root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : string.Empty;
            return new Verdict(pass.GetBoolean(), reason);
        }
        catch (JsonException)
        {
            return new Verdict(false, "the judge's reply held no valid JSON verdict", Error: true);
        }
    }
}
