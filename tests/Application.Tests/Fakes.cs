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

    /// <summary>How many writes have waited on a <see cref="Hold"/>.</summary>
    public int Holding;

    public List<string> Log { get; } = [];

    public void FailNext(int times) => Volatile.Write(ref _failuresLeft, times);

    /// <summary>Writes for which this returns true are refused for good (as an oversize or invalid item would be).</summary>
    public Func<CallWrites, bool>? Rejects { get; set; }

    /// <summary>Writes of calls for which this returns true fail for now (as on a throttled partition).</summary>
    public Func<string, bool>? FailFor { get; set; }

    public int Rejected;

    /// <summary>When set, calls whose writes are only text share one request (as on DynamoDB), logged "shared …".</summary>
    public bool Shares { get; set; }

    /// <summary>Shared requests fail for now this many more times.</summary>
    public int SharedFailuresLeft;

    public Task<IReadOnlyList<CallWrites>> WriteSharedAsync(IReadOnlyList<CallWrites> writes, CancellationToken cancellationToken)
    {
        var shared = writes.Where(w => Shares && w.IsTextOnly && w.Messages.Count > 0).ToList();
        if (shared.Sum(w => w.Messages.Count) < 2)
        {
            return Task.FromResult(writes);
        }

        if (Interlocked.Decrement(ref SharedFailuresLeft) >= 0)
        {
            throw new IOException("shared request throttled");
        }

        foreach (var call in shared)
        {
            foreach (var (index, message) in call.Messages)
            {
                _messages[(call.CallSid, index)] = message;
            }
        }

        lock (Log)
        {
            Log.Add("shared " + string.Join(',', shared.Select(w => $"{w.CallSid[^1..]}:{string.Join('+', w.Messages.Select(m => m.Index))}")));
        }

        return Task.FromResult<IReadOnlyList<CallWrites>>(writes.Except(shared).ToList());
    }

    public async Task WriteAsync(CallWrites writes, CancellationToken cancellationToken)
    {
        if (writes.Messages.Count > 0 && _holds.TryGetValue(writes.CallSid, out var hold))
        {
            Interlocked.Increment(ref Holding);
            await hold.Task.WaitAsync(cancellationToken);
        }

        if (Rejects?.Invoke(writes) == true)
        {
            Interlocked.Increment(ref Attempts);
            Interlocked.Increment(ref Rejected);
            throw new StoreRejectedException("item too large");
        }

        if (FailFor?.Invoke(writes.CallSid) == true)
        {
            Interlocked.Increment(ref Attempts);
            throw new IOException("throttled");
        }

        var parts = new List<string>();
        if (writes.Call is { } call)
        {
            parts.Add(writes.CallIsNew ? $"add {call.CallSid}" : $"save {call.CallSid} {call.Status}");
        }

        if (writes.Messages.Count > 0)
        {
            parts.Add($"messages {string.Join(',', writes.Messages.Select(m => m.Index))}");
        }

        parts.AddRange(writes.DeletedMessages.Select(i => $"delete {i}"));
        parts.AddRange(writes.ToolCalls.Select(t => $"tool {t.Name}"));
        await Do(string.Join("; ", parts), () =>
        {
            if (writes.Call is { } c)
            {
                if (writes.CallIsNew)
                {
                    _calls.TryAdd(c.CallSid, c);
                }
                else
                {
                    _calls[c.CallSid] = c;
                }
            }

            foreach (var (index, message) in writes.Messages)
            {
                _messages[(writes.CallSid, index)] = message;
            }

            foreach (var index in writes.DeletedMessages)
            {
                _messages.TryRemove((writes.CallSid, index), out _);
            }

            foreach (var toolCall in writes.ToolCalls)
            {
                _toolCalls.Add(toolCall);
            }
        });
    }

    /// <summary>Stores a call directly (test set-up).</summary>
    public Task SaveAsync(Call call, CancellationToken cancellationToken) => WriteAsync(new CallWrites(call.CallSid) { Call = call }, cancellationToken);

    public Task<Call?> GetAsync(string callSid, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Reads);
        return Task.FromResult(_calls.GetValueOrDefault(callSid));
    }

    /// <summary>Stores messages directly (test set-up).</summary>
    public Task SaveMessagesAsync(string callSid, IReadOnlyList<IndexedMessage> messages, CancellationToken cancellationToken) =>
        WriteAsync(new CallWrites(callSid) { Messages = messages }, cancellationToken);

    public Task<IReadOnlyList<ConversationMessage>> GetMessagesAsync(string callSid, CancellationToken cancellationToken) =>
        Interlocked.Increment(ref Reads) < 0 ? throw new InvalidOperationException() : Task.FromResult<IReadOnlyList<ConversationMessage>>(_messages.Where(kv => kv.Key.Item1 == callSid).OrderBy(kv => kv.Key.Item2).Select(kv => kv.Value).ToList());

    public Task<IReadOnlyList<ToolCall>> GetToolCallsAsync(string callSid, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ToolCall>>(_toolCalls.Where(t => t.CallSid == callSid).ToList());

    public Task<bool> SaveRecordAsync(string callSid, CallRecord record, CancellationToken cancellationToken) =>
        Task.FromResult(_calls.TryGetValue(callSid, out var call) && call.AttachRecord(record));

    /// <summary>The whole day in one page (the paging itself is the real stores' and their contract's business).</summary>
    public Task<DayPage<Call>> ListDayAsync(DateOnly day, string? after, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(new DayPage<Call>([.. _calls.Values.Where(c => DateOnly.FromDateTime(c.CreatedAt.UtcDateTime) == day).OrderBy(c => c.CreatedAt).Take(limit)], null));

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

    public Task<DayPage<VoiceAgent.Domain.Orders.Order>> ListDayAsync(DateOnly day, string? after, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(new DayPage<VoiceAgent.Domain.Orders.Order>([.. Saved.Where(o => DateOnly.FromDateTime(o.CreatedAt.UtcDateTime) == day).OrderBy(o => o.CreatedAt).Take(limit)], null));
}

/// <summary>Dead letters kept in memory.</summary>
internal sealed class MemoryDeadLetters : IDeadLetterStore
{
    private readonly List<string> _letters = [];

    public IReadOnlyList<string> Letters
    {
        get
        {
            lock (_letters)
            {
                return _letters.ToList();
            }
        }
    }

    public Task AddAsync(string letter, CancellationToken cancellationToken)
    {
        lock (_letters)
        {
            _letters.Add(letter);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ReadAllAsync(CancellationToken cancellationToken) => Task.FromResult(Letters);

    public Task RemoveAsync(IReadOnlyCollection<string> letters, CancellationToken cancellationToken)
    {
        lock (_letters)
        {
            _letters.RemoveAll(letters.Contains);
        }

        return Task.CompletedTask;
    }
}
