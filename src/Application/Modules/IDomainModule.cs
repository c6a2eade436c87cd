using Microsoft.Extensions.DependencyInjection;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Modules;

/// <summary>
/// A business domain (a pizza restaurant, a leasing office, a dental practice): its tools, its data, the values its use
/// cases' prompts show, and its seed use cases (copied into the app's seed folder at build). The host registers it
/// with one line, <c>services.AddDomainModule&lt;TModule&gt;()</c>; nothing else names it.
/// </summary>
public interface IDomainModule
{
    /// <summary>Registers the module's tools, options and services.</summary>
    void Register(IServiceCollection services);
}

/// <summary>
/// Values a module renders into its use cases' system prompts (<c>{{menu}}</c>) from the same data its tools work
/// with, so the prompt and the tools can never disagree.
/// </summary>
public interface IPromptValues
{
    /// <summary>Adds the module's values for <paramref name="useCase"/> (none when the use case is not the module's).</summary>
    void AddTo(UseCase useCase, IDictionary<string, string> values);
}

public static class DomainModuleRegistration
{
    /// <summary>Registers a business domain module: its tools and services.</summary>
    public static IServiceCollection AddDomainModule<TModule>(this IServiceCollection services)
        where TModule : IDomainModule, new()
    {
        new TModule().Register(services);
        return services;
    }
}
