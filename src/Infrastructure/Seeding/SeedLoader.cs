using System.Text.Json;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Infrastructure.Seeding;

/// <summary>
/// Reads the sample data: <c>usecases/*.json</c> (one use case a file) and <c>caller-profiles.json</c>.
/// The same files seed the embedded store and DynamoDB. Errors name the file and what is wrong.
/// </summary>
public static class SeedLoader
{
    public static IReadOnlyList<UseCase> LoadUseCases(string seedDirectory)
    {
        var directory = Path.Combine(seedDirectory, "usecases");
        if (!Directory.Exists(directory))
        {
            throw new SeedDataException($"Seed directory '{directory}' does not exist (Store:SeedPath).");
        }

        var useCases = new List<UseCase>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            var document = Read(file, SeedJsonContext.Default.UseCaseDocument);
            useCases.Add(document.ToDomain(file));
        }

        var duplicate = useCases.GroupBy(u => u.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new SeedDataException($"Use case id '{duplicate.Key}' appears in more than one file under '{directory}'.");
        }

        return useCases;
    }

    public static IReadOnlyList<CallerProfile> LoadCallerProfiles(string seedDirectory)
    {
        var file = Path.Combine(seedDirectory, "caller-profiles.json");
        if (!File.Exists(file))
        {
            return [];
        }

        var documents = Read(file, SeedJsonContext.Default.ListCallerProfileDocument);
        return documents.Select((d, i) => d.ToDomain($"{file}[{i}]")).ToList();
    }

    private static T Read<T>(string file, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            using var stream = File.OpenRead(file);
            return JsonSerializer.Deserialize(stream, typeInfo) ?? throw new SeedDataException($"{file}: the file is empty.");
        }
        catch (JsonException ex)
        {
            throw new SeedDataException($"{file}: {ex.Message}", ex);
        }
    }
}
