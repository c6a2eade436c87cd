using System.Text.Json;

namespace VoiceAgent.FakeBedrock;

/// <summary>The fake Bedrock runtime answering from a <see cref="ScenarioModel"/>: for evals in CI and by hand.</summary>
public static class ScriptedServer
{
    /// <summary>Starts it on <paramref name="url"/> (port 0 picks a free one); its address is in the app's Urls.</summary>
    public static async Task<WebApplication> StartAsync(string url, ScenarioModel model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        Map(app, model);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return app;
    }

    /// <summary>POST /model/{modelId}/converse-stream, SigV4-signed as Bedrock requires, answered from the script.</summary>
    public static void Map(IEndpointRouteBuilder app, ScenarioModel model)
    {
        app.MapPost("/model/{modelId}/converse-stream", async (HttpContext context) =>
        {
            if (!context.Request.Headers.Authorization.ToString().StartsWith("AWS4-HMAC-SHA256 Credential=", StringComparison.Ordinal))
            {
                context.Response.StatusCode = 403;
                context.Response.Headers["x-amzn-ErrorType"] = "UnrecognizedClientException";
                await context.Response.WriteAsync("{\"message\":\"Missing SigV4 signature.\"}", context.RequestAborted);
                return;
            }

            JsonDocument request;
            try
            {
                request = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            }
            catch (JsonException ex)
            {
                context.Response.StatusCode = 400;
                context.Response.Headers["x-amzn-ErrorType"] = "ValidationException";
                await context.Response.WriteAsync(JsonSerializer.Serialize(new { message = "Malformed request body: " + ex.Message }), context.RequestAborted);
                return;
            }

            using (request)
            {
                var answer = model.Answer(request.RootElement);
                context.Response.ContentType = "application/vnd.amazon.eventstream";
                context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
                await context.Response.Body.WriteAsync(answer, context.RequestAborted);
            }
        });
    }
}
