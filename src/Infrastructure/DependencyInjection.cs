using System.ClientModel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Infrastructure.Llm;
using VoiceAgent.Infrastructure.Llm.OpenAICompatible;
using VoiceAgent.Infrastructure.Persistence;
using VoiceAgent.Infrastructure.Persistence.Embedded;

namespace VoiceAgent.Infrastructure;

public static class DependencyInjection
{
    /// <summary>The store and the language model, chosen by configuration ("Store", "Llm").</summary>
    public static IServiceCollection AddInfrastructure(this IServiceCollection services)
    {
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        AddEmbeddedStore(services);
        services.TryAddSingleton<ILanguageModel>(sp => CreateLanguageModel(sp.GetRequiredService<IOptions<LlmOptions>>().Value));
        return services;
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
