using System.Threading.Tasks.Sources;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// The call loop's inputs: many writers, one reader, in order, unbounded. It does what an unbounded single-reader
/// channel with synchronous continuations did, in far less memory for the calls that sit idle (most of them): a
/// queue that grows from empty instead of a 32-slot segment, and one reusable wait instead of two cached ones
/// (about 1 KB less a call).
/// A write that finds the reader waiting resumes it on the writer's thread, after the lock is released.
/// </summary>
internal sealed class CallInbox : IValueTaskSource<bool>
{
    private readonly Queue<CallInput> _queue = new();
    private ManualResetValueTaskSourceCore<bool> _wait = new() { RunContinuationsAsynchronously = false };
    private bool _waiting;
    private bool _completed;

    /// <summary>Queues the input; false once the inbox is completed (the loop has stopped).</summary>
    public bool TryWrite(CallInput input)
    {
        lock (_queue)
        {
            if (_completed)
            {
                return false;
            }

            _queue.Enqueue(input);
            if (!_waiting)
            {
                return true;
            }

            _waiting = false;
        }

        _wait.SetResult(true);
        return true;
    }

    public bool TryRead(out CallInput input)
    {
        lock (_queue)
        {
            return _queue.TryDequeue(out input!);
        }
    }

    /// <summary>True when an input is ready; false when the inbox is completed and empty. One reader only.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_queue)
        {
            if (_queue.Count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _wait.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _wait.Version);
        }
    }

    /// <summary>No more writes; a waiting reader wakes and finds what is left.</summary>
    public void Complete()
    {
        bool ready;
        lock (_queue)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (!_waiting)
            {
                return;
            }

            _waiting = false;
            ready = _queue.Count > 0;
        }

        _wait.SetResult(ready);
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);
}
