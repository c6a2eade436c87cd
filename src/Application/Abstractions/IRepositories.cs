using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
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

    Task SaveMessageAsync(string callSid, int index, ConversationMessage message, CancellationToken cancellationToken);

    Task DeleteMessageAsync(string callSid, int index, CancellationToken cancellationToken);

    Task<IReadOnlyList<ConversationMessage>> GetMessagesAsync(string callSid, CancellationToken cancellationToken);

    Task SaveToolCallAsync(ToolCall toolCall, CancellationToken cancellationToken);

    Task<IReadOnlyList<ToolCall>> GetToolCallsAsync(string callSid, CancellationToken cancellationToken);
}
