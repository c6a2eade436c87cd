namespace VoiceAgent.Api;

/// <summary><c>dotnet VoiceAgent.Api.dll healthcheck [url]</c>: exit 0 when /health/live answers 200.</summary>
internal static class HealthProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var url = args.Length > 1 ? args[1] : "http://127.0.0.1:8080/health/live";
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await client.GetAsync(new Uri(url));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return 1;
        }
    }
}
