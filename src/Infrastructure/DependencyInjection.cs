using System.ClientModel;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Infrastructure.Llm;
using VoiceAgent.Infrastructure.Llm.Bedrock;
using VoiceAgent.Infrastructure.Llm.OpenAICompatible;
using VoiceAgent.Infrastructure.Persistence;
using VoiceAgent.Infrastructure.Persistence.Embedded;

namespace VoiceAgent.Infrastructure;

public static class DependencyInjection
{
    /// <summary>The store and the language model, chosen by configuration ("Store", "Llm").</summary>
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        AddEmbeddedStore(services);
        var provider = configuration.GetSection(LlmOptions.SectionName).GetValue(nameof(LlmOptions.Provider), LlmProvider.OpenAICompatible);
        if (provider == LlmProvider.Bedrock)
        {
            AddBedrock(services);
        }
        else
        {
            services.TryAddSingleton<ILanguageModel>(sp => CreateLanguageModel(sp.GetRequiredService<IOptions<LlmOptions>>().Value));
        }

        return services;
    }

    private static void AddBedrock(IServiceCollection services)
    {
        services.AddOptions<BedrockOptions>().BindConfiguration(BedrockOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<BedrockMetrics>();

        // Resolved on first use: env, profile, or ECS/Fargate container credentials. AWSCredentials refresh themselves.
        services.TryAddSingleton<AWSCredentials>(_ => DefaultAWSCredentialsIdentityResolver.GetCredentials(null));
        services.AddSingleton(sp =>
        {
            var handler = new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = TimeSpan.FromSeconds(5),
            };

            // No retry handler here: Polly in BedrockLanguageModel is the only layer that retries.
            var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
            var options = sp.GetRequiredService<IOptions<BedrockOptions>>().Value;
            return new ConverseStreamClient(http, options, sp.GetRequiredService<AWSCredentials>);
        });
        services.TryAddSingleton<ILanguageModel>(sp => new BedrockLanguageModel(
            sp.GetRequiredService<ConverseStreamClient>(),
            sp.GetRequiredService<IOptions<BedrockOptions>>().Value,
            sp.GetRequiredService<BedrockMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<BedrockLanguageModel>>()));
    }

    private static void AddEmbeddedStore(IServiceCollection services)
    {
        services.AddSingleton<EmbeddedUseCaseRepository>();
        services.AddSingleton<EmbeddedCallerProfileRepository>();
        services.AddSingleton<EmbeddedCallRepository>();
        services.AddSingleton<IUseCaseRepository>(sp => sp.GetRequiredService<EmbeddedUseCaseRepository>());
        services.AddSingleton<ICallerProfileRepository>(sp => sp.GetRequiredService<EmbeddedCallerProfileRepository>());
        services.AddSingleton<ICallRepository>(sp => sp.GetRequiredService<EmbeddedCallRepository>());
        services.AddHostedService<EmbeddedStoreSeeder>();
    }

    private static ChatClientLanguageModel CreateLanguageModel(LlmOptions options)
    {
        var clientOptions = new OpenAIClientOptions { Endpoint = options.Endpoint, NetworkTimeout = options.RequestTimeout };
        var credential = new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "unused" : options.ApiKey);
        var chat = new ChatClient(options.Model!, credential, clientOptions).AsIChatClient();
        return new ChatClientLanguageModel(chat, options.Model!);
    }
}
