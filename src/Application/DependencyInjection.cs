using FluentValidation;
using Microsoft.Extensions.DependencyInjection;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Application.Conversations;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Application.Tools;
using VoiceAgent.Application.Tools.BuiltIn;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Application;

public static class DependencyInjection
{
    /// <summary>Handlers, validators, the call loops' services and the write-behind journal. Ports come from Infrastructure.</summary>
    public static IServiceCollection AddApplication(this IServiceCollection services)
    {
        services.AddMediator(options =>
        {
            options.ServiceLifetime = ServiceLifetime.Singleton;
            options.Namespace = "VoiceAgent.Application.Mediator";
            options.PipelineBehaviors = [typeof(ValidationBehaviour<,>)];
        });
        services.AddValidatorsFromAssembly(typeof(DependencyInjection).Assembly, ServiceLifetime.Singleton, includeInternalTypes: true);

        services.AddOptions<ConversationOptions>().BindConfiguration(ConversationOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PricingOptions>().BindConfiguration(PricingOptions.SectionName);
        services.AddOptions<PersistenceOptions>().BindConfiguration(PersistenceOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<ConversationTelemetry>();
        services.AddSingleton<IActiveCallRegistry, ActiveCallRegistry>();
        services.AddSingleton<ICallDirectory, CallDirectory>();
        services.AddHostedService<CallDirectoryWarmup>();
        services.AddSingleton<IUseCaseResolver, UseCaseResolver>();
        services.AddSingleton<Relay.CallInputs>();
        services.AddSingleton<ModelRound>();
        services.AddSingleton<ToolRound>();
        services.AddSingleton<ToolInvoker>();
        services.AddSingleton<CallLoopServices>();
        services.AddSingleton<IToolCatalog, ToolCatalog>();
        services.AddSingleton<CallJournal>();
        services.AddSingleton<ICallJournal>(sp => sp.GetRequiredService<CallJournal>());
        services.AddHostedService<CallJournalWriter>();
        services.AddSingleton<DeadLetterReplay>();
        services.AddOptions<Calls.PostCall.PostCallOptions>().BindConfiguration(Calls.PostCall.PostCallOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<Calls.PostCall.PostCallRecorder>();
        services.AddSingleton<Calls.PostCall.PostCallWriter>();
        services.AddSingleton<Calls.PostCall.IPostCallRecords>(sp => sp.GetRequiredService<Calls.PostCall.PostCallWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<Calls.PostCall.PostCallWriter>());

        // Built-in tools, offered to use cases that list them.
        services.AddTool<EndCallTool>().AddTool<LiveAgentHandoffTool>().AddTool<SendDigitsTool>().AddTool<SwitchLanguageTool>();
        return services;
    }

    /// <summary>Registers a tool handler; use cases that list its name offer it to the model.</summary>
    public static IServiceCollection AddTool<TTool>(this IServiceCollection services)
        where TTool : class, ITool
    {
        services.AddSingleton<TTool>();
        services.AddSingleton<ITool>(sp => sp.GetRequiredService<TTool>());
        return services;
    }
}
