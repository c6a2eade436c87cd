namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>
/// One table, generic keys. Everything about a call shares its partition, so a call reads back in one query.
/// <code>
/// item           pk                   sk                   gsi1pk               gsi1sk
/// use case       USECASE#{id}         USECASE              USECASES             {id}
/// caller profile CALLER#{e164}        PROFILE
/// call           CALL#{CallSid}       CALL                 CALLS#{yyyy-MM-dd}#{shard}   {createdAt}#{CallSid}
/// turn           CALL#{CallSid}       MSG#{position:D6}
/// tool call      CALL#{CallSid}       TOOL#{toolUseId}
/// order          CALL#{CallSid}       ORDER#{orderId}      ORDERS#{yyyy-MM-dd}#{shard}  {createdAt}#{orderId}
/// used ticket    CALL#{CallSid}       RELAY#{ticketId}
/// module record  RECORD#{collection}  {key}
/// API key        APIKEY#{sha256}      APIKEY
/// </code>
/// Turn sort keys are the message's position in the conversation, assigned under the call's lock: ordered and
/// collision-free by construction (no timestamps). Call data carries <c>expiresAt</c> (epoch seconds), the TTL.
/// <para>
/// The day index is sharded: a call or order goes to shard <c>FNV-1a(id) mod Store:DynamoDb:IndexShards</c>, so a
/// day's writes spread over that many index partitions instead of one; a day is read by querying every shard (and the
/// unsharded key items written before sharding used) and merging by the sort key.
/// </para>
/// </summary>
internal static class TableDesign
{
    public const string Pk = "pk";
    public const string Sk = "sk";
    public const string Gsi1 = "gsi1";
    public const string Gsi1Pk = "gsi1pk";
    public const string Gsi1Sk = "gsi1sk";
    public const string ExpiresAt = "expiresAt";
    public const string ItemType = "type";

    public const string CallSk = "CALL";
    public const string MessagePrefix = "MSG#";
    public const string ToolPrefix = "TOOL#";
    public const string OrderPrefix = "ORDER#";
    public const string RelayTicketPrefix = "RELAY#";

    /// <summary>The index partition that lists every use case (to find the one that answers a dialled number).</summary>
    public const string UseCaseList = "USECASES";

    public static string CallPk(string callSid) => "CALL#" + callSid;

    public static string MessageSk(int index) => MessagePrefix + index.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    public static string ToolSk(string toolUseId) => ToolPrefix + toolUseId;

    public static string OrderSk(string orderId) => OrderPrefix + orderId;

    public static string RelayTicketSk(string ticketId) => RelayTicketPrefix + ticketId;

    public static string UseCasePk(string id) => "USECASE#" + id;

    public static string CallerPk(string phoneNumber) => "CALLER#" + phoneNumber;

    public static string RecordPk(string collection) => "RECORD#" + collection;

    public const string CallsIndex = "CALLS#";
    public const string OrdersIndex = "ORDERS#";

    /// <summary>The day index key of an item with <paramref name="id"/> created at <paramref name="createdAt"/>.</summary>
    public static string DayIndexPk(string index, DateTimeOffset createdAt, string id, int shards) =>
        DayKey(index, DateOnly.FromDateTime(createdAt.UtcDateTime)) + "#" + Shard(id, shards).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every index key a day's items may be under: each shard, then the unsharded key of older items.</summary>
    public static IEnumerable<string> DayIndexPks(string index, DateOnly day, int shards)
    {
        var key = DayKey(index, day);
        for (var shard = 0; shard < shards; shard++)
        {
            yield return key + "#" + shard.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        yield return key;
    }

    /// <summary>A stable shard of <paramref name="id"/> (FNV-1a, 32 bits): the same on every instance and version.</summary>
    public static int Shard(string id, int shards)
    {
        var hash = 2166136261u;
        foreach (var c in id)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % (uint)shards);
    }

    private static string DayKey(string index, DateOnly day) =>
        index + day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
}
