using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Microsoft.Extensions.Options;
using VoiceAgent.Api.Common;
using VoiceAgent.Api.Observability;
using VoiceAgent.Api.Relay;
using VoiceAgent.Api.Twilio;

namespace VoiceAgent.Api;

internal static class DependencyInjection
{
    /// <summary>
    /// Kestrel's endpoints serve relay upgrades below the HTTP layer (<see cref="RelayConnectionHandler"/>) unless
    /// Relay:ServeBelowHttp is false. Other servers (the tests' in-memory one) serve them through the /ws endpoint.
    /// </summary>
    public static IWebHostBuilder UseRelayConnections(this IWebHostBuilder host) =>
        host.ConfigureKestrel((context, kestrel) =>
        {
            if (!context.Configuration.GetValue($"{RelayOptions.SectionName}:{nameof(RelayOptions.ServeBelowHttp)}", true))
            {
                return;
            }

            kestrel.ConfigureEndpointDefaults(listen => listen.Use(next =>
                ActivatorUtilities.CreateInstance<RelayConnectionHandler>(listen.ApplicationServices, next).OnConnectedAsync));
        });

    public static IServiceCollection AddApi(this IServiceCollection services, IConfiguration configuration)
    {
        AddTelemetry(services, configuration);
        services.AddOptions<TwilioOptions>().BindConfiguration(TwilioOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<WebhookGuard>();
        services.AddOptions<Operations.ApiOptions>().BindConfiguration(Operations.ApiOptions.SectionName);
        services.AddSingleton<Operations.ApiKeyAuthenticator>();
        services.AddOptions<Operations.OutboundOptions>().BindConfiguration(Operations.OutboundOptions.SectionName);
        services.AddHttpClient("twilio", client => client.Timeout = TimeSpan.FromSeconds(15));
        if (configuration.GetValue<bool>("Http:TrustForwardedHeaders"))
        {
            // Behind the load balancer (the only way in): the client address is the last one it appended.
            services.Configure<Microsoft.AspNetCore.Builder.ForwardedHeadersOptions>(forwarded =>
            {
                forwarded.ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor;
                forwarded.ForwardLimit = 1;
                forwarded.KnownIPNetworks.Clear();
                forwarded.KnownProxies.Clear();
            });
        }

        services.AddSingleton<IValidateOptions<TwilioOptions>, TwilioOptionsValidator>();
        services.AddOptions<RelayOptions>().BindConfiguration(RelayOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RelayDrain>();
        services.AddOptions<HostOptions>().Configure<IOptions<RelayOptions>>((host, relay) =>
        {
            // Live calls get the drain window, then the host still has time to write what they left behind.
            var wanted = relay.Value.DrainTimeout + TimeSpan.FromSeconds(15);
            if (host.ShutdownTimeout < wanted)
            {
                host.ShutdownTimeout = wanted;
            }
        });

        services.AddSingleton<TwilioRequestValidator>();
        services.AddSingleton<RelayTicketCodec>();
        services.AddSingleton<RelayTicketGuard>();
        services.AddSingleton<RelayAdmission>();
        services.AddSingleton<RelaySessions>();
        services.AddSingleton<VoiceAgent.Api.Endpoints.ActionReplies>();
        services.AddProblemDetails();
        services.AddExceptionHandler<ExceptionHandler>();
        services.AddHealthChecks().AddCheck<ReadinessCheck>("ready", tags: ["ready"]);
        services.AddHostedService<StartupWarnings>();
        services.AddOptions<ObservabilityOptions>().BindConfiguration(ObservabilityOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        if (configuration.GetValue<bool>($"{ObservabilityOptions.SectionName}:{nameof(ObservabilityOptions.CloudWatchActiveCalls)}"))
        {
            services.AddHostedService(sp => ActivatorUtilities.CreateInstance<CloudWatchActiveCalls>(sp, Console.Out));
        }
        return services;
    }

    /// <summary>
    /// Traces (a span per turn, children per model round and tool, plus ASP.NET Core and HttpClient) and metrics
    /// (every VoiceAgent.* meter), exported over OTLP when OpenTelemetry:OtlpEndpoint (or OTEL_EXPORTER_OTLP_ENDPOINT)
    /// is set. Without an exporter nothing listens: no spans are built on the hot path and the instruments stay
    /// free (dotnet-counters and other in-process listeners can still read the meters).
    /// </summary>
    private static void AddTelemetry(IServiceCollection services, IConfiguration configuration)
    {
        var endpoint = configuration["OpenTelemetry:OtlpEndpoint"] ?? configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var otlp))
        {
            return;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("voiceagent"))
            .WithTracing(tracing => tracing
                .AddSource("VoiceAgent.*")
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                .AddHttpClientInstrumentation())
            .WithMetrics(metrics => metrics
                .AddMeter("VoiceAgent.*")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation())
            .UseOtlpExporter(OtlpExportProtocol.Grpc, otlp);
    }
}

/// <summary>Ready while the host runs; not ready from the moment it starts stopping (SIGTERM), so no new calls arrive.</summary>
internal sealed class ReadinessCheck(RelayDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(drain.IsDraining
            ? HealthCheckResult.Unhealthy("draining: no new calls")
            : HealthCheckResult.Healthy());
}

/// <summary>Says loudly, at start, when a safety switch is off.</summary>
internal sealed partial class StartupWarnings(IOptions<TwilioOptions> twilio, ILogger<StartupWarnings> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!twilio.Value.ValidateSignatures)
        {
            Log.SignaturesOff(logger);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 9100, Level = LogLevel.Critical, Message = "!!! Twilio:ValidateSignatures is OFF: anyone can post webhooks and open relay sessions. Local development only. !!!")]
        public static partial void SignaturesOff(ILogger logger);
    }
}
