using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Orders;
using VoiceAgent.Domain.Tools;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Abstractions;

public interface IUseCaseRepository
{
    Task<UseCase?> GetAsync(string useCaseId, CancellationToken cancellationToken);

    /// <summary>Every stored use case (to find which answers a dialled number); unreadable ones are named, not thrown.</summary>
    Task<UseCaseListing> ListAsync(CancellationToken cancellationToken);
}

/// <summary>The stored use cases, and what could not be read (each with why).</summary>
public sealed record UseCaseListing(IReadOnlyList<UseCase> UseCases, IReadOnlyList<string> Unreadable);

public interface ICallerProfileRepository
{
    Task<CallerProfile?> FindByPhoneNumberAsync(string phoneNumber, CancellationToken cancellationToken);
}

/// <summary>Calls, their conversation messages (by position) and tool calls. Every write is idempotent.</summary>
public interface ICallRepository
{
    /// <summary>
    /// Applies one call's writes, all or none where the store allows it (a tool-use message and its results land
    /// together), in as few requests as it allows. A call record never overwrites what identifies a stored call (its
    /// numbers, use case, creation time); a new one (<see cref="CallWrites.CallIsNew"/>) changes nothing stored.
    /// </summary>
    /// <exception cref="StoreRejectedException">The store refused the write for good.</exception>
    Task WriteAsync(CallWrites writes, CancellationToken cancellationToken);

    /// <summary>
    /// Applies several calls' writes in shared requests where that gives up no all-or-none guarantee (on DynamoDB:
    /// the calls whose writes are only text messages share BatchWriteItem requests), and returns the calls it left
    /// for <see cref="WriteAsync"/>. When a shared request fails it throws: then none of those calls is known to be
    /// stored, and each is written again on its own (every write is idempotent). A store without shared requests
    /// leaves them all.
    /// </summary>
    Task<IReadOnlyList<CallWrites>> WriteSharedAsync(IReadOnlyList<CallWrites> writes, CancellationToken cancellationToken) =>
        Task.FromResult(writes);

    Task<Call?> GetAsync(string callSid, CancellationToken cancellationToken);

    Task<IReadOnlyList<ConversationMessage>> GetMessagesAsync(string callSid, CancellationToken cancellationToken);

    Task<IReadOnlyList<ToolCall>> GetToolCallsAsync(string callSid, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the post-call record on the stored call, once: false when the call already has one (a replayed end,
    /// another instance's job) or is not stored.
    /// </summary>
    Task<bool> SaveRecordAsync(string callSid, CallRecord record, CancellationToken cancellationToken);

    /// <summary>
    /// The calls created on <paramref name="day"/> (UTC), oldest first, at most <paramref name="limit"/>, starting
    /// after the cursor <paramref name="after"/> a previous page returned.
    /// </summary>
    Task<DayPage<Call>> ListDayAsync(DateOnly day, string? after, int limit, CancellationToken cancellationToken);
}

/// <summary>One page of a day's listing; <paramref name="Next"/> is the cursor of the next page, null on the last.</summary>
public sealed record DayPage<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>
/// What one call has ready to store: its record (created or changed), messages put or deleted by position, and
/// tool calls — each key at most once (the last state wins).
/// </summary>
public sealed record CallWrites(string CallSid)
{
    /// <summary>The call record to store, if it changed.</summary>
    public Call? Call { get; init; }

    /// <summary><see cref="Call"/> is only what the webhook created: store it unless the call exists.</summary>
    public bool CallIsNew { get; init; }

    public IReadOnlyList<IndexedMessage> Messages { get; init; } = [];

    public IReadOnlyList<int> DeletedMessages { get; init; } = [];

    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];

    /// <summary>Only messages of text: no call record, deletion, tool call, or tool use or result to keep together.</summary>
    public bool IsTextOnly =>
        Call is null && DeletedMessages.Count == 0 && ToolCalls.Count == 0
        && Messages.All(m => m.Message.Content.All(block => block is TextBlock));

    /// <summary>Items written.</summary>
    public int Count => (Call is null ? 0 : 1) + Messages.Count + DeletedMessages.Count + ToolCalls.Count;
}

/// <summary>Orders placed during calls. Kept (no retention TTL): they are business records.</summary>
public interface IOrderRepository
{
    /// <summary>Stores the order; saving the same order id again replaces it (idempotent).</summary>
    Task SaveAsync(Order order, CancellationToken cancellationToken);

    Task<IReadOnlyList<Order>> GetForCallAsync(string callSid, CancellationToken cancellationToken);

    /// <summary>The orders placed on <paramref name="day"/> (UTC), oldest first, a page at a time (as calls are listed).</summary>
    Task<DayPage<Order>> ListDayAsync(DateOnly day, string? after, int limit, CancellationToken cancellationToken);
}

/// <summary>A conversation message at its position in the call.</summary>
public sealed record IndexedMessage(int Index, ConversationMessage Message);

/// <summary>
/// The store refused a write for good — the item is invalid or too large, or another error that a retry of the
/// same write cannot fix. The journal sets such a write aside (a dead letter) instead of retrying it.
/// </summary>
public sealed class StoreRejectedException : Exception
{
    public StoreRejectedException()
    {
    }

    public StoreRejectedException(string message)
        : base(message)
    {
    }

    public StoreRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>An item in the store is missing fields or has the wrong types; the message names the item.</summary>
public sealed class StoredDataException : Exception
{
    public StoredDataException()
    {
    }

    public StoredDataException(string message)
        : base(message)
    {
    }

    public StoredDataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
