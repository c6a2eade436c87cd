using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using VoiceAgent.Api;
using VoiceAgent.Api.Endpoints;
using VoiceAgent.Api.Relay;
using VoiceAgent.Application;
using VoiceAgent.Application.Modules;
using VoiceAgent.Infrastructure;

if (args is ["healthcheck", ..])
{
    // The container's HEALTHCHECK: no curl in the runtime image, so the app probes itself.
    return await HealthProbe.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
if (string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase))
{
    // One JSON object per line, with the CallSid scope of each session; transcripts and numbers never at Information.
    builder.Logging.ClearProviders().AddJsonConsole(o =>
    {
        o.IncludeScopes = true;
        o.UseUtcTimestamp = true;
        o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
    });
}

builder.Services.AddApplication().AddInfrastructure(builder.Configuration).AddApi(builder.Configuration);
builder.WebHost.UseRelayConnections();

// Business domains: one line each; the host builds every folder under src/Modules (docs/adding-a-domain.md).
builder.Services.AddDomainModule<VoiceAgent.Modules.Pizza.PizzaModule>();
builder.Services.AddDomainModule<VoiceAgent.Modules.Leasing.LeasingModule>();

var app = builder.Build();
if (args is ["seed", ..])
{
    // dotnet run --project src/Api -- seed: create the DynamoDB table and load the seed files.
    return await VoiceAgent.Infrastructure.DependencyInjection.SeedAsync(app.Services, CancellationToken.None);
}

if (args is ["replay-dead-letters", ..])
{
    // dotnet VoiceAgent.Api.dll replay-dead-letters: write the store's refused writes again, once their cause is fixed.
    var (replayed, kept) = await app.Services.GetRequiredService<VoiceAgent.Application.Persistence.DeadLetterReplay>().ReplayAsync(CancellationToken.None);
    Console.WriteLine($"{replayed} dead letters replayed, {kept} kept.");
    return kept == 0 ? 0 : 1;
}

if (args is ["create-api-key", var keyName, ..])
{
    // dotnet VoiceAgent.Api.dll create-api-key NAME: a key for the operations API, shown once; only its hash is kept.
    var (key, hash) = VoiceAgent.Api.Operations.ApiKeyAuthenticator.NewKey();
    var stored = await app.Services.GetRequiredService<VoiceAgent.Application.Abstractions.IApiKeyStore>().AddAsync(hash, keyName, CancellationToken.None);
    Console.WriteLine($"API key '{keyName}': {key}");
    Console.WriteLine(stored
        ? "Its SHA-256 is in the store; the key itself is not kept anywhere: copy it now."
        : $"This store keeps no keys: add it to configuration as Api__Keys__0__Name={keyName} Api__Keys__0__Sha256={hash}");
    return 0;
}

var relay = app.Services.GetRequiredService<IOptions<RelayOptions>>().Value;

if (app.Configuration.GetValue<bool>("Http:TrustForwardedHeaders"))
{
    app.UseForwardedHeaders();
}

app.UseExceptionHandler();
app.UseWebSockets(new WebSocketOptions
{
    KeepAliveInterval = relay.KeepAliveInterval,
    KeepAliveTimeout = relay.PongTimeout,
});

app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
app.MapVoiceEndpoints();
VoiceAgent.Api.Operations.CallEndpoints.MapCallEndpoints(app);
VoiceAgent.Api.Operations.OutboundCalls.MapOutboundCalls(app);
app.MapRelayEndpoint();

await app.RunAsync();
return 0;

/// <summary>The host's entry point; visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
