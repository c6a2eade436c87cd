using System.ClientModel;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Infrastructure.Llm;
using VoiceAgent.Infrastructure.Llm.Bedrock;
using VoiceAgent.Infrastructure.Llm.OpenAICompatible;
using VoiceAgent.Infrastructure.Persistence;
using VoiceAgent.Infrastructure.Persistence.DynamoDb;
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

        services.AddSingleton<IDeadLetterStore, FileDeadLetterStore>();
        var store = configuration.GetSection(StoreOptions.SectionName).GetValue(nameof(StoreOptions.Provider), StoreProvider.Embedded);
        if (store == StoreProvider.DynamoDb)
        {
            AddDynamoDbStore(services);
        }
        else
        {
            AddEmbeddedStore(services);
        }

        services.TryAddSingleton(_ => ResolveCredentials());
        var provider = configuration.GetSection(LlmOptions.SectionName).GetValue(nameof(LlmOptions.Provider), LlmProvider.OpenAICompatible);
        if (provider == LlmProvider.Bedrock)
        {
            AddBedrock(services);
        }
        else if (provider == LlmProvider.Instant)
        {
            services.TryAddSingleton<ILanguageModel>(sp => new InstantLanguageModel(sp.GetRequiredService<IOptions<LlmOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        }
        else
        {
            services.TryAddSingleton<ILanguageModel>(sp => CreateLanguageModel(sp.GetRequiredService<IOptions<LlmOptions>>().Value));
        }

        return services;
    }

    /// <summary>
    /// The default chain (environment, profile, ECS/Fargate task role). Task-role credentials cache and refresh
    /// themselves; environment credentials are read from the environment on every signature (four reads a DynamoDB
    /// request, seen at 2 % of the service's CPU under load), and a process's environment does not change, so they
    /// are read once.
    /// </summary>
    private static AWSCredentials ResolveCredentials()
    {
        var credentials = DefaultAWSCredentialsIdentityResolver.GetCredentials(null);
        if (credentials is not EnvironmentVariablesAWSCredentials)
        {
            return credentials;
        }

        var read = credentials.GetCredentials();
        return read.UseToken
            ? new SessionAWSCredentials(read.AccessKey, read.SecretKey, read.Token)
            : new BasicAWSCredentials(read.AccessKey, read.SecretKey);
    }

    private static void AddBedrock(IServiceCollection services)
    {
        services.AddOptions<BedrockOptions>().BindConfiguration(BedrockOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<BedrockMetrics>();

        services.AddSingleton(sp =>
        {
            var handler = new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = TimeSpan.FromSeconds(5),
            };

            // No retry handler here: Polly in BedrockLanguageModel is the only layer that retries.
            var http = new HttpMessageInvoker(handler);
            var options = sp.GetRequiredService<IOptions<BedrockOptions>>().Value;
            return new ConverseStreamClient(
                http, options, sp.GetRequiredService<AWSCredentials>, sp.GetRequiredService<TimeProvider>(), sp.GetService<IHostEnvironment>()?.EnvironmentName);
        });
        services.TryAddSingleton<ILanguageModel>(sp => new BedrockLanguageModel(
            sp.GetRequiredService<ConverseStreamClient>(),
            sp.GetRequiredService<IOptions<BedrockOptions>>().Value,
            sp.GetRequiredService<BedrockMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<BedrockLanguageModel>>()));
    }

    private static void AddDynamoDbStore(IServiceCollection services)
    {
        services.AddOptions<DynamoDbOptions>().BindConfiguration(DynamoDbOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        // Credentials resolve on first use (env, profile, ECS/Fargate task role) and refresh themselves.
        services.AddSingleton<IAmazonDynamoDB>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DynamoDbOptions>>().Value;
            var config = new AmazonDynamoDBConfig
            {
                Timeout = options.RequestTimeout,
                MaxErrorRetry = 1, // the write-behind journal retries with its own backoff
            };
            if (options.ServiceUrl is not null)
            {
                config.ServiceURL = options.ServiceUrl.ToString();
                config.AuthenticationRegion = options.Region ?? "us-east-1";
            }
            else if (!string.IsNullOrWhiteSpace(options.Region))
            {
                config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
            }

            return new AmazonDynamoDBClient(sp.GetRequiredService<AWSCredentials>(), config);
        });
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<DynamoDbOptions>>().Value);
        services.AddSingleton(sp => DynamoDbLeanClient.For(
            sp.GetRequiredService<IAmazonDynamoDB>(),
            sp.GetRequiredService<AWSCredentials>,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<DynamoDbOptions>().RequestTimeout));
        services.AddSingleton<DynamoDbCallRepository>();
        services.AddSingleton<DynamoDbUseCaseRepository>();
        services.AddSingleton<DynamoDbCallerProfileRepository>();
        services.AddSingleton<ICallRepository>(sp => sp.GetRequiredService<DynamoDbCallRepository>());
        services.AddSingleton<IUseCaseRepository>(sp => sp.GetRequiredService<DynamoDbUseCaseRepository>());
        services.AddSingleton<ICallerProfileRepository>(sp => sp.GetRequiredService<DynamoDbCallerProfileRepository>());
        services.AddSingleton<IOrderRepository, DynamoDbOrderRepository>();
        services.AddSingleton<IRelayTicketLedger, DynamoDbRelayTicketLedger>();
        services.AddSingleton<IApiKeyStore, DynamoDbApiKeyStore>();
        services.AddSingleton<IRecordStore, DynamoDbRecordStore>();
        services.AddSingleton(sp => new DynamoDbSeeder(
            sp.GetRequiredService<IAmazonDynamoDB>(),
            sp.GetRequiredService<DynamoDbOptions>(),
            sp.GetRequiredService<DynamoDbUseCaseRepository>(),
            sp.GetRequiredService<DynamoDbCallerProfileRepository>(),
            sp.GetRequiredService<ILogger<DynamoDbSeeder>>()));
    }

    /// <summary>
    /// <c>seed</c>: creates the DynamoDB table if missing and loads the seed files into it. Returns a process exit code.
    /// </summary>
    public static async Task<int> SeedAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var store = services.GetRequiredService<IOptions<StoreOptions>>().Value;
        var seeder = services.GetService<DynamoDbSeeder>();
        if (seeder is null)
        {
            await Console.Out.WriteLineAsync("Store:Provider is Embedded: the embedded store seeds itself from the seed files at start. Nothing to do.").ConfigureAwait(false);
            return 0;
        }

        await seeder.SeedAsync(store.ResolveSeedPath(), cancellationToken).ConfigureAwait(false);
        return 0;
    }

    private static void AddEmbeddedStore(IServiceCollection services)
    {
        services.AddSingleton<EmbeddedUseCaseRepository>();
        services.AddSingleton<EmbeddedCallerProfileRepository>();
        services.AddSingleton<EmbeddedCallRepository>();
        services.AddSingleton<IUseCaseRepository>(sp => sp.GetRequiredService<EmbeddedUseCaseRepository>());
        services.AddSingleton<ICallerProfileRepository>(sp => sp.GetRequiredService<EmbeddedCallerProfileRepository>());
        services.AddSingleton<ICallRepository>(sp => sp.GetRequiredService<EmbeddedCallRepository>());
        services.AddSingleton<IOrderRepository, EmbeddedOrderRepository>();
        services.AddSingleton<IRelayTicketLedger, EmbeddedRelayTicketLedger>();
        services.AddSingleton<IApiKeyStore, EmbeddedApiKeyStore>();
        services.AddSingleton<IRecordStore, EmbeddedRecordStore>();
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
