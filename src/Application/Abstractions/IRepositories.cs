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
}

public interface ICallerProfileRepository
{
    Task<CallerProfile?> FindByPhoneNumberAsync(string phoneNumber, CancellationToken cancellationToken);
}

/// <summary>Calls, their conversation messages (by position) and tool calls. Every write is an idempotent upsert.</summary>
public interface ICallRepository
{
    /// <summary>Stores the call unless one with the same CallSid exists. Returns false when it existed.</summary>
    Task<bool> TryAddAsync(Call call, CancellationToken cancellationToken);

    Task SaveAsync(Call call, CancellationToken cancellationToken);

    Task<Call?> GetAsync(string callSid, CancellationToken cancellationToken);

    /// <summary>Upserts messages by position, all or none (a tool-use message and its results land together).</summary>
    Task SaveMessagesAsync(string callSid, IReadOnlyList<IndexedMessage> messages, CancellationToken cancellationToken);

    Task DeleteMessageAsync(string callSid, int index, CancellationToken cancellationToken);

    Task<IReadOnlyList<ConversationMessage>> GetMessagesAsync(string callSid, CancellationToken cancellationToken);

    Task SaveToolCallAsync(ToolCall toolCall, CancellationToken cancellationToken);

    Task<IReadOnlyList<ToolCall>> GetToolCallsAsync(string callSid, CancellationToken cancellationToken);
}

/// <summary>Orders placed during calls. Kept (no retention TTL): they are business records.</summary>
public interface IOrderRepository
{
    /// <summary>Stores the order; saving the same order id again replaces it (idempotent).</summary>
    Task SaveAsync(Order order, CancellationToken cancellationToken);

    Task<IReadOnlyList<Order>> GetForCallAsync(string callSid, CancellationToken cancellationToken);
}

/// <summary>A conversation message at its position in the call.</summary>
public sealed record IndexedMessage(int Index, ConversationMessage Message);

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
