using System.Collections.Concurrent;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Orders;
using VoiceAgent.Domain.Tools;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Infrastructure.Persistence.Embedded;

/// <summary>
/// The in-process store used when no AWS is configured: for local runs and tests. Everything lives in memory
/// and is gone on restart; use cases and profiles come from the seed files at start.
/// </summary>
internal sealed class EmbeddedUseCaseRepository : IUseCaseRepository
{
    private readonly ConcurrentDictionary<string, UseCase> _useCases = new(StringComparer.Ordinal);

    public void Put(UseCase useCase) => _useCases[useCase.Id] = useCase;

    public Task<UseCase?> GetAsync(string useCaseId, CancellationToken cancellationToken) =>
        Task.FromResult(_useCases.GetValueOrDefault(useCaseId));

    public Task<UseCaseListing> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new UseCaseListing([.. _useCases.Values.OrderBy(u => u.Id, StringComparer.Ordinal)], []));
}

internal sealed class EmbeddedCallerProfileRepository : ICallerProfileRepository
{
    private readonly ConcurrentDictionary<string, CallerProfile> _profiles = new(StringComparer.Ordinal);

    public void Put(CallerProfile profile) => _profiles[profile.PhoneNumber] = profile;

    public Task<CallerProfile?> FindByPhoneNumberAsync(string phoneNumber, CancellationToken cancellationToken) =>
        Task.FromResult(_profiles.GetValueOrDefault(phoneNumber));
}

internal sealed class EmbeddedCallRepository : ICallRepository
{
    private readonly ConcurrentDictionary<string, StoredCall> _calls = new(StringComparer.Ordinal);

    public Task WriteAsync(CallWrites writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var record = Record(writes.CallSid);
        lock (record)
        {
            if (writes.Call is { } call)
            {
                // What identifies a stored call is never overwritten, and an ended call stays ended.
                record.Call = record.Call is not { } stored ? call : writes.CallIsNew ? stored : Call.Merge(stored, call);
            }

            foreach (var (index, message) in writes.Messages)
            {
                record.Messages[index] = message;
            }

            foreach (var index in writes.DeletedMessages)
            {
                record.Messages.Remove(index);
            }

            foreach (var toolCall in writes.ToolCalls)
            {
                record.ToolCalls[toolCall.ToolUseId] = toolCall;
            }
        }

        return Task.CompletedTask;
    }

    public Task<Call?> GetAsync(string callSid, CancellationToken cancellationToken)
    {
        if (!_calls.TryGetValue(callSid, out var record))
        {
            return Task.FromResult<Call?>(null);
        }

        lock (record)
        {
            return Task.FromResult(record.Call);
        }
    }

    public Task<IReadOnlyList<ConversationMessage>> GetMessagesAsync(string callSid, CancellationToken cancellationToken)
    {
        if (!_calls.TryGetValue(callSid, out var record))
        {
            return Task.FromResult<IReadOnlyList<ConversationMessage>>([]);
        }

        lock (record)
        {
            return Task.FromResult<IReadOnlyList<ConversationMessage>>(record.Messages.Values.ToList());
        }
    }

    public Task<IReadOnlyList<ToolCall>> GetToolCallsAsync(string callSid, CancellationToken cancellationToken)
    {
        if (!_calls.TryGetValue(callSid, out var record))
        {
            return Task.FromResult<IReadOnlyList<ToolCall>>([]);
        }

        lock (record)
        {
            return Task.FromResult<IReadOnlyList<ToolCall>>(record.ToolCalls.Values.OrderBy(t => t.StartedAt).ToList());
        }
    }

    // Turns can be written before the call record lands (both go through the journal in order, but a store
    // outage on the call write must not lose turns): keep them under a placeholder until the call arrives.
    private StoredCall Record(string callSid) => _calls.GetOrAdd(callSid, static _ => new StoredCall(null));

    public Task<bool> SaveRecordAsync(string callSid, CallRecord record, CancellationToken cancellationToken)
    {
        if (!_calls.TryGetValue(callSid, out var stored))
        {
            return Task.FromResult(false);
        }

        lock (stored)
        {
            return Task.FromResult(stored.Call is { } call && call.AttachRecord(record));
        }
    }

    public Task<DayPage<Call>> ListDayAsync(DateOnly day, string? after, int limit, CancellationToken cancellationToken)
    {
        var calls = new List<Call>();
        foreach (var record in _calls.Values)
        {
            lock (record)
            {
                if (record.Call is { } call)
                {
                    calls.Add(call);
                }
            }
        }

        return Task.FromResult(DayListing.Page(calls, c => c.CreatedAt, c => c.CallSid, day, after, limit));
    }

    private sealed class StoredCall(Call? call)
    {
        public Call? Call { get; set; } = call;

        public SortedDictionary<int, ConversationMessage> Messages { get; } = [];

        public Dictionary<string, ToolCall> ToolCalls { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>Orders in memory; one past its retention is not read back.</summary>
internal sealed class EmbeddedOrderRepository(TimeProvider timeProvider) : IOrderRepository
{
    private readonly ConcurrentDictionary<string, Order> _orders = new(StringComparer.Ordinal);

    public Task SaveAsync(Order order, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(order);
        _orders[order.OrderId] = order;
        return Task.CompletedTask;
    }

    public Task<DayPage<Order>> ListDayAsync(DateOnly day, string? after, int limit, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        return Task.FromResult(DayListing.Page(
            _orders.Values.Where(o => !o.IsExpired(now)), o => o.CreatedAt, o => o.OrderId, day, after, limit));
    }

    public Task<IReadOnlyList<Order>> GetForCallAsync(string callSid, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Order>>(_orders.Values.Where(o => o.CallSid == callSid && !o.IsExpired(timeProvider.GetUtcNow())).OrderBy(o => o.CreatedAt).ToList());
}

/// <summary>A day's listing in memory, with the cursor DynamoDB's index gives: the item's creation time and id.</summary>
internal static class DayListing
{
    public static DayPage<T> Page<T>(IEnumerable<T> items, Func<T, DateTimeOffset> createdAt, Func<T, string> id, DateOnly day, string? after, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var page = items
            .Where(item => DateOnly.FromDateTime(createdAt(item).UtcDateTime) == day)
            .Select(item => (Key: createdAt(item).UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) + "#" + id(item), Item: item))
            .Where(entry => after is null || string.CompareOrdinal(entry.Key, after) > 0)
            .OrderBy(entry => entry.Key, StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        return page.Count > limit
            ? new DayPage<T>([.. page.Take(limit).Select(e => e.Item)], page[limit - 1].Key)
            : new DayPage<T>([.. page.Select(e => e.Item)], null);
    }
}
