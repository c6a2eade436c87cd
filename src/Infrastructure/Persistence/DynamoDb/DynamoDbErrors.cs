using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>
/// Which DynamoDB write failures are the item's fault, and so permanent: a retry of the same write cannot succeed
/// (<see cref="StoreRejectedException"/>). Everything else — throttling, 5xx, timeouts, and errors of the account,
/// table or credentials, which an operator's fix cures — stays retryable, so a misconfiguration delays writes instead
/// of setting every one of them aside.
/// </summary>
internal static class DynamoDbErrors
{
    private static readonly HashSet<string> ItemFaults = new(StringComparer.Ordinal)
    {
        "ValidationException",
        "ItemCollectionSizeLimitExceededException",
        "ValidationError",
        "ItemCollectionSizeLimitExceeded",
        "ConditionalCheckFailed",
        "ConditionalCheckFailedException",
    };

    public static async Task ClassifyAsync(Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (AmazonDynamoDBException ex) when (IsPermanent(ex))
        {
            throw new StoreRejectedException($"DynamoDB refused the write: {ex.ErrorCode}: {ex.Message}", ex);
        }
    }

    public static bool IsPermanent(AmazonDynamoDBException exception) => exception switch
    {
        // A transaction is the item's fault only when every reason it was cancelled for is.
        TransactionCanceledException canceled => canceled.CancellationReasons is { Count: > 0 } reasons
            && reasons.Any(r => ItemFaults.Contains(r.Code ?? string.Empty))
            && reasons.All(r => r.Code is null or "None" || ItemFaults.Contains(r.Code)),
        _ => ItemFaults.Contains(exception.ErrorCode ?? string.Empty),
    };
}

/// <summary>
/// DynamoDB's size of an item (UTF-8 attribute names plus values; numbers at their largest), and cutting long text so
/// an item stays under the 400 KB limit with a marker saying how much was left out.
/// </summary>
internal static class ItemSize
{
    /// <summary>What an item may hold: DynamoDB's 400 KB (409,600 bytes) with room to spare.</summary>
    public const int Budget = 380_000;

    public static int Of(Dictionary<string, AttributeValue> item)
    {
        var size = 0;
        foreach (var (name, value) in item)
        {
            size += System.Text.Encoding.UTF8.GetByteCount(name) + (value.S is { } s ? System.Text.Encoding.UTF8.GetByteCount(s) : 21);
        }

        return size;
    }

    /// <summary>
    /// <paramref name="text"/> with its end replaced by a marker, the whole at most about <paramref name="maxBytes"/>
    /// UTF-8 bytes (never between a surrogate pair).
    /// </summary>
    public static string Cut(string text, int maxBytes)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(text);
        if (bytes <= maxBytes)
        {
            return text;
        }

        var keep = Math.Max(0, (int)((long)text.Length * Math.Max(0, maxBytes - 64) / bytes));
        if (keep > 0 && char.IsHighSurrogate(text[keep - 1]))
        {
            keep--;
        }

        return string.Concat(text.AsSpan(0, keep), $" … [cut: {text.Length - keep} characters not stored]");
    }
}
