using FluentValidation;
using Mediator;

namespace VoiceAgent.Application.Common;

/// <summary>Runs the FluentValidation validators of a message before its handler; throws <see cref="ValidationException"/>.</summary>
public sealed class ValidationBehaviour<TMessage, TResponse>(IEnumerable<IValidator<TMessage>> validators)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    private readonly IValidator<TMessage>[] _validators = validators.ToArray();

    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (_validators.Length == 0)
        {
            return next(message, cancellationToken);
        }

        var context = new ValidationContext<TMessage>(message);
        List<FluentValidation.Results.ValidationFailure>? failures = null;
        foreach (var validator in _validators)
        {
            var result = validator.Validate(context);
            if (!result.IsValid)
            {
                (failures ??= []).AddRange(result.Errors);
            }
        }

        return failures is null ? next(message, cancellationToken) : throw new ValidationException(failures);
    }
}

internal static class CallSidRules
{
    /// <summary>Twilio ids are two letters and 32 hex digits; shorter test ids are accepted, never empty or huge.</summary>
    public static IRuleBuilderOptions<T, string> MustBeCallSid<T>(this IRuleBuilder<T, string> rule) =>
        rule.NotEmpty().MaximumLength(64).Matches("^CA[0-9A-Za-z]+$").WithMessage("'{PropertyName}' must be a Twilio CallSid (CA…).");
}
