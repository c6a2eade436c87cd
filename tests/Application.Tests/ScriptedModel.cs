using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Application.Tests;

/// <summary>A model that plays one script per call, in order, and records every request.</summary>
public sealed class ScriptedModel : ILanguageModel
{
    private readonly ConcurrentQueue<Func<ModelRequest, CancellationToken, IAsyncEnumerable<ModelStreamEvent>>> _scripts = new();

    public List<ModelRequest> Requests { get; } = [];

    public ScriptedModel Then(Func<ModelRequest, CancellationToken, IAsyncEnumerable<ModelStreamEvent>> script)
    {
        _scripts.Enqueue(script);
        return this;
    }

    public ScriptedModel ThenSays(params string[] tokens) => Then((_, ct) => Tokens(tokens, ct));

    public IAsyncEnumerable<ModelStreamEvent> StreamAsync(ModelRequest request, CancellationToken cancellationToken)
    {
        lock (Requests)
        {
            Requests.Add(request);
        }

        if (!_scripts.TryDequeue(out var script))
        {
            throw new InvalidOperationException("The scripted model has no script left.");
        }

        return script(request, cancellationToken);
    }

    public static async IAsyncEnumerable<ModelStreamEvent> Tokens(string[] tokens, [EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var token in tokens)
        {
            ct.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new TextDelta(token);
        }

        yield return new ModelCompleted(ModelStopReason.EndTurn);
    }

    /// <summary>Yields <paramref name="events"/> one at a time (asynchronously), then the given stop reason.</summary>
    public static async IAsyncEnumerable<ModelStreamEvent> Events(
        ModelStopReason stopReason, [EnumeratorCancellation] CancellationToken ct, params ModelStreamEvent[] events)
    {
        foreach (var e in events)
        {
            ct.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return e;
        }

        yield return new ModelCompleted(stopReason);
    }

    /// <summary>A model message that asks for one tool (optionally after some text).</summary>
    public static IAsyncEnumerable<ModelStreamEvent> ToolUse(string name, string input, CancellationToken ct, TextDelta? before = null) =>
        before is null
            ? Events(ModelStopReason.ToolUse, ct, new ToolUseRequested("t-" + Guid.NewGuid().ToString("N")[..6], name, input))
            : Events(ModelStopReason.ToolUse, ct, before, new ToolUseRequested("t-" + Guid.NewGuid().ToString("N")[..6], name, input));
}
