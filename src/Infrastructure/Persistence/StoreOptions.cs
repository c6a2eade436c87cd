using System.ComponentModel.DataAnnotations;

namespace VoiceAgent.Infrastructure.Persistence;

public enum StoreProvider
{
    /// <summary>In-process memory, seeded from the JSON seed files. The default with no AWS configured.</summary>
    Embedded,

    /// <summary>One DynamoDB table ("Store:DynamoDb"); create and seed it with the <c>seed</c> command.</summary>
    DynamoDb,
}

/// <summary>Where calls, use cases and profiles live. Bound from the "Store" section and validated on start.</summary>
public sealed class StoreOptions
{
    public const string SectionName = "Store";

    public StoreProvider Provider { get; set; } = StoreProvider.Embedded;

    /// <summary>The seed folder (usecases/*.json, caller-profiles.json); relative paths start at the app's folder.</summary>
    [Required(ErrorMessage = "Store:SeedPath is required: the folder holding usecases/*.json and caller-profiles.json.")]
    public string SeedPath { get; set; } = "seed";

    public string ResolveSeedPath() =>
        Path.IsPathRooted(SeedPath) ? SeedPath : Path.Combine(AppContext.BaseDirectory, SeedPath);

    /// <summary>
    /// The file that keeps writes the store refused for good (dead letters), one JSON document a line. Relative paths
    /// start in the temporary folder; on Fargate point it at a mounted volume.
    /// </summary>
    [Required(ErrorMessage = "Store:DeadLetterPath is required: the file that keeps writes the store refused.")]
    public string DeadLetterPath { get; set; } = Path.Combine("voiceagent", "dead-letters.jsonl");

    public string ResolveDeadLetterPath() =>
        Path.IsPathRooted(DeadLetterPath) ? DeadLetterPath : Path.Combine(Path.GetTempPath(), DeadLetterPath);
}
