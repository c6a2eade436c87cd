using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Common;
using VoiceAgent.Infrastructure.Seeding;

namespace VoiceAgent.Infrastructure.Persistence.Embedded;

/// <summary>Loads the seed files into the embedded store before the server takes calls; bad seed data stops the start.</summary>
internal sealed partial class EmbeddedStoreSeeder(
    EmbeddedUseCaseRepository useCases,
    EmbeddedCallerProfileRepository profiles,
    IOptions<StoreOptions> store,
    IOptions<ConversationOptions> conversation,
    ILogger<EmbeddedStoreSeeder> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var path = store.Value.ResolveSeedPath();
        var loaded = SeedLoader.LoadUseCases(path);
        foreach (var useCase in loaded)
        {
            useCases.Put(useCase);
        }

        var defaultId = conversation.Value.DefaultUseCaseId;
        if (!loaded.Any(u => string.Equals(u.Id, defaultId, StringComparison.Ordinal)))
        {
            throw new SeedDataException(
                $"Conversation:DefaultUseCaseId is '{defaultId}' but no use case with that id is in '{Path.Combine(path, "usecases")}'.");
        }

        var callers = SeedLoader.LoadCallerProfiles(path);
        foreach (var profile in callers)
        {
            profiles.Put(profile);
        }

        Log.Seeded(logger, loaded.Count, callers.Count, path);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Embedded store seeded with {UseCases} use cases and {Profiles} caller profiles from {Path}")]
        public static partial void Seeded(ILogger logger, int useCases, int profiles, string path);
    }
}
