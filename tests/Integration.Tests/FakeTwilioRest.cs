using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace VoiceAgent.Integration.Tests;

/// <summary>
/// Twilio's Calls API on loopback: checks basic auth (account SID and auth token) like Twilio does (401 with its error
/// body otherwise), records each form, and answers 201 with a new CallSid.
/// </summary>
public sealed class FakeTwilioRest : IAsyncDisposable
{
    public const string AccountSid = "AC0123456789abcdef0123456789abcdef";

    private readonly WebApplication _app;

    private FakeTwilioRest(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Each accepted request's form, as posted (repeated keys kept).</summary>
    public ConcurrentQueue<List<KeyValuePair<string, string>>> Calls { get; } = new();

    public static async Task<FakeTwilioRest> StartAsync(string authToken)
    {
        var app = LoopbackApp.Create();
        var fake = new FakeTwilioRest(app);
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(AccountSid + ":" + authToken));
        app.MapPost("/2010-04-01/Accounts/{account}/Calls.json", async (HttpContext context, string account) =>
        {
            if (account != AccountSid || context.Request.Headers.Authorization.ToString() != expected)
            {
                return Results.Json(new { code = 20003, message = "Authenticate", status = 401 }, statusCode: 401);
            }

            var form = await context.Request.ReadFormAsync();
            if (string.IsNullOrEmpty(form["To"]) || string.IsNullOrEmpty(form["From"]) || string.IsNullOrEmpty(form["Url"]))
            {
                return Results.Json(new { code = 21201, message = "No 'To', 'From' or 'Url' specified", status = 400 }, statusCode: 400);
            }

            fake.Calls.Enqueue([.. form.SelectMany(f => f.Value.Select(v => new KeyValuePair<string, string>(f.Key, v ?? string.Empty)))]);
            return Results.Json(new { sid = "CA" + Guid.NewGuid().ToString("N"), status = "queued" }, statusCode: 201);
        });
        fake.BaseAddress = await LoopbackApp.StartAsync(app);
        return fake;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
