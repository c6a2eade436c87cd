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
    public static IReadOnlyList<UseCase> LoadUseCases(string seedDirectory) =>
        LoadUseCaseDocuments(seedDirectory).Select(d => d.UseCase).ToList();

    /// <summary>Each use case with its JSON document, as stored by the DynamoDB seeding.</summary>
    public static IReadOnlyList<(UseCase UseCase, string Json)> LoadUseCaseDocuments(string seedDirectory)
    {
        var directory = Path.Combine(seedDirectory, "usecases");
        if (!Directory.Exists(directory))
        {
            throw new SeedDataException($"Seed directory '{directory}' does not exist (Store:SeedPath).");
        }

        var useCases = new List<(UseCase UseCase, string Json)>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            var document = Read(file, SeedJsonContext.Default.UseCaseDocument);
            useCases.Add((document.ToDomain(file), JsonSerializer.Serialize(document, SeedJsonContext.Default.UseCaseDocument)));
        }

        var duplicate = useCases.GroupBy(u => u.UseCase.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new SeedDataException($"Use case id '{duplicate.Key}' appears in more than one file under '{directory}'.");
        }

        var shared = useCases
            .SelectMany(u => u.UseCase.PhoneNumbers.Select(n => (Number: n, u.UseCase.Id)))
            .GroupBy(n => n.Number, StringComparer.Ordinal)
            .FirstOrDefault(g => g.Count() > 1);
        if (shared is not null)
        {
            throw new SeedDataException(
                $"Phone number '{Domain.Common.PhoneNumbers.Mask(shared.Key)}' is listed by more than one use case ({string.Join(", ", shared.Select(s => s.Id))}) under '{directory}'.");
        }

        return useCases;
    }

    public static IReadOnlyList<CallerProfile> LoadCallerProfiles(string seedDirectory) =>
        LoadCallerProfileDocuments(seedDirectory).Select(d => d.Profile).ToList();

    /// <summary>Each caller profile with its JSON document, as stored by the DynamoDB seeding.</summary>
    public static IReadOnlyList<(CallerProfile Profile, string Json)> LoadCallerProfileDocuments(string seedDirectory)
    {
        var file = Path.Combine(seedDirectory, "caller-profiles.json");
        if (!File.Exists(file))
        {
            return [];
        }

        var documents = Read(file, SeedJsonContext.Default.ListCallerProfileDocument);
        return documents
            .Select((d, i) => (d.ToDomain($"{file}[{i}]"), JsonSerializer.Serialize(d, SeedJsonContext.Default.CallerProfileDocument)))
            .ToList();
    }

    /// <summary>A stored use case document back to the domain; errors name <paramref name="source"/>.</summary>
    internal static UseCase ParseUseCase(string json, string source) =>
        Parse(json, source, SeedJsonContext.Default.UseCaseDocument).ToDomain(source);

    /// <summary>A stored caller profile document back to the domain; errors name <paramref name="source"/>.</summary>
    internal static CallerProfile ParseCallerProfile(string json, string source) =>
        Parse(json, source, SeedJsonContext.Default.CallerProfileDocument).ToDomain(source);

    private static T Parse<T>(string json, string source, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(json, typeInfo) ?? throw new SeedDataException($"{source}: the document is empty.");
        }
        catch (JsonException ex)
        {
            throw new SeedDataException($"{source}: {ex.Message}", ex);
        }
    }

    private static T Read<T>(string file, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
        where T : class => Parse(File.ReadAllText(file), file, typeInfo);
}
