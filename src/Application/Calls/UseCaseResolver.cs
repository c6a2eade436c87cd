using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Calls;

/// <summary>Finds the caller's profile and the use case that serves them.</summary>
public interface IUseCaseResolver
{
    /// <summary>
    /// The use case, in this order: <paramref name="requestedUseCaseId"/> (a session's, bound when its call was
    /// answered), the one that lists the dialled number <paramref name="to"/>, the caller's profile's, the default.
    /// </summary>
    Task<(UseCase UseCase, CallerProfile? Profile)> ResolveAsync(string? from, string? to, string? requestedUseCaseId, CancellationToken cancellationToken);
}

/// <summary>The configured default use case is missing from the store: no call can be answered.</summary>
public sealed class UseCaseNotFoundException(string useCaseId)
    : Exception($"Use case '{useCaseId}' was not found in the store. Seed it, or point Conversation:DefaultUseCaseId at one that exists.")
{
    public string UseCaseId { get; } = useCaseId;
}

internal sealed partial class UseCaseResolver(
    ICallDirectory directory,
    IOptions<ConversationOptions> options,
    ILogger<UseCaseResolver> logger) : IUseCaseResolver
{
    public async Task<(UseCase UseCase, CallerProfile? Profile)> ResolveAsync(
        string? from, string? to, string? requestedUseCaseId, CancellationToken cancellationToken)
    {
        CallerProfile? profile = null;
        try
        {
            profile = PhoneNumbers.IsE164(from)
                ? await directory.FindCallerAsync(from!, cancellationToken).ConfigureAwait(false)
                : null;
        }
        catch (StoredDataException ex)
        {
            // A broken profile must not cost the caller the call: answer them as an unknown caller.
            Log.BadStoredData(logger, ex, ex.Message);
        }

        string? dialled = null;
        if (requestedUseCaseId is null && PhoneNumbers.IsE164(to))
        {
            try
            {
                dialled = await directory.FindUseCaseIdForNumberAsync(to!, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // No index (the store is down and was never read): the profile or the default answers.
                Log.NumberLookupFailed(logger, ex, PhoneNumbers.Mask(to));
            }
        }

        foreach (var candidate in new[] { requestedUseCaseId, dialled, profile?.UseCaseId })
        {
            if (string.IsNullOrWhiteSpace(candidate))
            {
                continue;
            }

            try
            {
                var useCase = await directory.GetUseCaseAsync(candidate, cancellationToken).ConfigureAwait(false);
                if (useCase is not null)
                {
                    return (useCase, profile);
                }
            }
            catch (StoredDataException ex)
            {
                Log.BadStoredData(logger, ex, ex.Message);
            }

            Log.UseCaseMissing(logger, candidate, options.Value.DefaultUseCaseId);
        }

        var fallback = await directory.GetUseCaseAsync(options.Value.DefaultUseCaseId, cancellationToken).ConfigureAwait(false)
            ?? throw new UseCaseNotFoundException(options.Value.DefaultUseCaseId);
        return (fallback, profile);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "Which use case answers {Number} could not be looked up")]
        public static partial void NumberLookupFailed(ILogger logger, Exception exception, string number);

        [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Bad data in the store: {Reason}")]
        public static partial void BadStoredData(ILogger logger, Exception exception, string reason);

        [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Use case {UseCaseId} not found or unreadable; using the default {DefaultUseCaseId}")]
        public static partial void UseCaseMissing(ILogger logger, string useCaseId, string defaultUseCaseId);
    }
}
