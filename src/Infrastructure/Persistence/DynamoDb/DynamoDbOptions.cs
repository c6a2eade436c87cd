using System.ComponentModel.DataAnnotations;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>The DynamoDB table. Bound from "Store:DynamoDb" and validated on start when Store:Provider is DynamoDb.</summary>
public sealed class DynamoDbOptions : IValidatableObject
{
    public const string SectionName = "Store:DynamoDb";

    [Required(ErrorMessage = "Store:DynamoDb:TableName is required.")]
    [RegularExpression("^[a-zA-Z0-9_.-]{3,255}$", ErrorMessage = "Store:DynamoDb:TableName must be 3-255 letters, digits, '_', '-' or '.'.")]
    public string TableName { get; set; } = "voiceagent";

    /// <summary>AWS region; the SDK's default chain applies when empty.</summary>
    public string? Region { get; set; }

    /// <summary>Endpoint override: a DynamoDB-compatible server (moto, DynamoDB Local) or a VPC endpoint.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>Call data (calls, turns, tool calls) expires this many days after it is written (TTL).</summary>
    [Range(1, 3650, ErrorMessage = "Store:DynamoDb:RetentionDays must be between 1 and 3650.")]
    public int RetentionDays { get; set; } = 90;

    /// <summary>Items per page when reading a call's history (paginated, strongly consistent).</summary>
    [Range(1, 1000, ErrorMessage = "Store:DynamoDb:PageSize must be between 1 and 1000.")]
    public int PageSize { get; set; } = 200;

    /// <summary>Per-request timeout; the write-behind journal retries failures itself.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Store:DynamoDb:RequestTimeout must be between 100 ms and 1 min.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Index partitions per day for the call and order listings (<c>CALLS#{day}#{shard}</c>): each takes about 1,000
    /// writes a second, so the fleet's ceiling is this many times that. Raise it freely; lowering it hides the items in
    /// the shards dropped from the day's listing.
    /// </summary>
    [Range(1, 256, ErrorMessage = "Store:DynamoDb:IndexShards must be between 1 and 256.")]
    public int IndexShards { get; set; } = 16;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ServiceUrl is { IsAbsoluteUri: false })
        {
            yield return new ValidationResult("Store:DynamoDb:ServiceUrl must be an absolute URL.", [nameof(ServiceUrl)]);
        }
    }
}
