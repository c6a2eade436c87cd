using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace VoiceAgent.Api.Relay;

/// <summary>
/// A connection's transport pipes as the stream a <see cref="System.Net.WebSockets.WebSocket"/> reads and writes:
/// reads copy out of the input pipe's buffers, writes go into the output pipe and are flushed (the WebSocket writes
/// whole frames). Asynchronous only, as the WebSocket uses it, one read at a time (a WebSocket never overlaps its
/// reads): a read that must wait completes through this stream itself, so an idle call holds no frame for it. The pipes stay open: Kestrel completes them when the
/// connection's handler returns.
/// </summary>
internal sealed class DuplexPipeStream : Stream, IValueTaskSource<int>
{
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Action _onRead;
    private ManualResetValueTaskSourceCore<int> _read;
    private ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _pending;
    private Memory<byte> _destination;
    private CancellationToken _cancellationToken;

    public DuplexPipeStream(IDuplexPipe transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _input = transport.Input;
        _output = transport.Output;
        _onRead = OnRead;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var pending = _input.ReadAsync(cancellationToken);
            if (!pending.IsCompleted)
            {
                // An idle call waits here: on this stream's one reusable completion, not a new async frame per wait.
                _destination = buffer;
                _cancellationToken = cancellationToken;
                _read.Reset();
                _pending = pending.ConfigureAwait(false).GetAwaiter();
                _pending.UnsafeOnCompleted(_onRead);
                return new ValueTask<int>(this, _read.Version);
            }

            if (Take(pending.Result, buffer.Span) is var count and >= 0)
            {
                return new ValueTask<int>(count);
            }
        }
    }

    private void OnRead()
    {
        try
        {
            var result = _pending.GetResult();
            while (true)
            {
                if (Take(result, _destination.Span) is var count and >= 0)
                {
                    _destination = default;
                    _read.SetResult(count);
                    return;
                }

                var pending = _input.ReadAsync(_cancellationToken);
                if (!pending.IsCompleted)
                {
                    _pending = pending.ConfigureAwait(false).GetAwaiter();
                    _pending.UnsafeOnCompleted(_onRead);
                    return;
                }

                result = pending.Result;
            }
        }
        catch (Exception ex)
        {
            _destination = default;
            _read.SetException(ex);
        }
    }

    /// <summary>Copies what <paramref name="result"/> holds; 0 at the end of the input; -1 when there is nothing yet.</summary>
    private int Take(ReadResult result, Span<byte> destination)
    {
        var data = result.Buffer;
        if (!data.IsEmpty)
        {
            var count = (int)Math.Min(data.Length, destination.Length);
            data.Slice(0, count).CopyTo(destination);
            _input.AdvanceTo(data.GetPosition(count));
            return count;
        }

        _input.AdvanceTo(data.End);
        if (result.IsCompleted)
        {
            return 0;
        }

        return result.IsCanceled ? throw new OperationCanceledException("The read was canceled.") : -1;
    }

    int IValueTaskSource<int>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var result = await _output.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The write was canceled.");
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken).AsTask();

    public override void Flush() => throw new NotSupportedException("Asynchronous only.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous only.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
