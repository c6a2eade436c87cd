using System.Collections.Concurrent;
using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.Tools;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

/// <summary>Records what a turn hands to the transport, and whether its turn was already cancelled then.</summary>
internal sealed class RecordingOutput : ICallOutput, IDisposable
{
    private readonly List<(OutboundMessage Message, TurnHandle? Turn, bool CancelledAtSend)> _sent = [];
    private readonly SemaphoreSlim _signal = new(0);

    public IReadOnlyList<(OutboundMessage Message, TurnHandle? Turn, bool CancelledAtSend)> Sent
    {
        get
        {
            lock (_sent)
            {
                return _sent.ToList();
            }
        }
    }

    /// <summary>What a caller would hear: frames of turns not cancelled when sent (the send loop drops the rest).</summary>
    public IReadOnlyList<SpeakText> Heard => Sent.Where(s => !s.CancelledAtSend).Select(s => s.Message).OfType<SpeakText>().ToList();

    public string HeardText => string.Concat(Heard.Select(h => h.Token));

    public void Dispose() => _signal.Dispose();

    public ValueTask SendAsync(OutboundMessage message, TurnHandle? turn, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_sent)
        {
            _sent.Add((message, turn, turn?.IsCancelled ?? false));
        }

        _signal.Release();
        return ValueTask.CompletedTask;
    }

    public async Task WaitForAsync(Func<RecordingOutput, bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition(this))
        {
            await _signal.WaitAsync(timeout.Token);
        }
    }
}

/// <summary>An in-memory repository that can be told to fail, to stand in for a store outage.</summary>
internal sealed class FakeCallRepository : ICallRepository
{
    private readonly ConcurrentDictionary<string, Call> _calls = new();
    private readonly ConcurrentDictionary<(string, int), ConversationMessage> _messages = new();
    private readonly ConcurrentBag<ToolCall> _toolCalls = [];
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _holds = new(StringComparer.Ordinal);
    private int _failuresLeft;

    public int Attempts;

    /// <summary>How many times a call or its messages were read.</summary>
    public int Reads;

    /// <summary>Message writes for <paramref name="callSid"/> wait (as on a slow store) until the result is completed.</summary>
    public TaskCompletionSource Hold(string callSid) =>
        _holds.GetOrAdd(callSid, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public List<string> Log { get; } = [];

    public void FailNext(int times) => Volatile.Write(ref _failuresLeft, times);

    public Task<bool> TryAddAsync(Call call, CancellationToken cancellationToken) => Do($"add {call.CallSid}", () => _calls.TryAdd(call.CallSid, call));

    public Task SaveAsync(Call call, CancellationToken cancellationToken) => Do($"save {call.CallSid} {call.Status}", () => _calls[call.CallSid] = call);

    public Task<Call?> GetAsync(string callSid, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Reads);
        return Task.FromResult(_calls.GetValueOrDefault(callSid));
    }

    public async Task SaveMessagesAsync(string callSid, IReadOnlyList<IndexedMessage> messages, CancellationToken cancellationToken)
    {
        if (_holds.TryGetValue(callSid, out var hold))
        {
            await hold.Task.WaitAsync(cancellationToken);
        }

        await Do($"messages {string.Join(',', messages.Select(m => m.Index))}", () =>
        {
            foreach (var (index, message) in messages)
            {
                _messages[(callSid, index)] = message;
            }
        });
    }

    public Task DeleteMessageAsync(string callSid, int index, CancellationToken cancellationToken) =>
        Do($"delete {index}", () => _messages.TryRemove((callSid, index), out _));

    public Task<IReadOnlyList<ConversationMessage>> GetMessagesAsync(string callSid, CancellationToken cancellationToken) =>
        Interlocked.Increment(ref Reads) < 0 ? throw new InvalidOperationException() : Task.FromResult<IReadOnlyList<ConversationMessage>>(_messages.Where(kv => kv.Key.Item1 == callSid).OrderBy(kv => kv.Key.Item2).Select(kv => kv.Value).ToList());

    public Task SaveToolCallAsync(ToolCall toolCall, CancellationToken cancellationToken) => Do($"tool {toolCall.Name}", () => _toolCalls.Add(toolCall));

    public Task<IReadOnlyList<ToolCall>> GetToolCallsAsync(string callSid, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ToolCall>>(_toolCalls.Where(t => t.CallSid == callSid).ToList());

    private Task<bool> Do(string what, Action action)
    {
        Interlocked.Increment(ref Attempts);
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            throw new IOException("store is down");
        }

        action();
        lock (Log)
        {
            Log.Add(what);
        }

        return Task.FromResult(true);
    }
}

/// <summary>A tool whose behaviour each test sets.</summary>
internal sealed class FakeTool(string name, bool idempotent, Func<JsonElement, CancellationToken, Task<ToolOutcome>> run) : ITool
{
    public int Invocations;

    public ToolSpec Spec { get; } = new(name, $"Test tool {name}.", "{\"type\":\"object\"}");

    public bool IsIdempotent { get; } = idempotent;

    public async ValueTask<ToolOutcome> InvokeAsync(ActiveCall call, JsonElement input, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Invocations);
        return await run(input, cancellationToken);
    }
}

internal sealed class FakeOrderRepository : IOrderRepository
{
    public ConcurrentBag<VoiceAgent.Domain.Orders.Order> Saved { get; } = [];

    public Task SaveAsync(VoiceAgent.Domain.Orders.Order order, CancellationToken cancellationToken)
    {
        Saved.Add(order);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<VoiceAgent.Domain.Orders.Order>> GetForCallAsync(string callSid, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<VoiceAgent.Domain.Orders.Order>>(Saved.Where(o => o.CallSid == callSid).ToList());
}
