using System.Runtime.CompilerServices;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Infrastructure.Llm;

/// <summary>
/// A stand-in model for load tests and benchmarks (Llm:Provider=Instant): a fixed answer, yielded at once token by
/// token (optionally paced), so what is measured is the service itself.
/// </summary>
internal sealed class InstantLanguageModel(LlmOptions options, TimeProvider timeProvider) : ILanguageModel
{
    private static readonly string[] Words = ["Sure, ", "a ", "large ", "pepperoni ", "will ", "be ", "ready ", "in ", "about ", "twenty ", "minutes. ", "Anything ", "else? "];

    public async IAsyncEnumerable<ModelStreamEvent> StreamAsync(ModelRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var firstToken = options.InstantFirstTokenDelay
            + (options.InstantFirstTokenJitter > TimeSpan.Zero ? options.InstantFirstTokenJitter * Random.Shared.NextDouble() : TimeSpan.Zero);
        if (firstToken > TimeSpan.Zero)
        {
            await Task.Delay(firstToken, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        for (var i = 0; i < options.InstantTokens; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (options.InstantTokenDelay > TimeSpan.Zero)
            {
                await Task.Delay(options.InstantTokenDelay, timeProvider, cancellationToken).ConfigureAwait(false);
            }

            yield return new TextDelta(Words[i % Words.Length]);
        }

        yield return new ModelCompleted(ModelStopReason.EndTurn, new ModelUsage(0, options.InstantTokens));
    }
}
