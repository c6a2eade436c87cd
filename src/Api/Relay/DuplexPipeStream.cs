using System.Buffers;
using System.IO.Pipelines;

namespace VoiceAgent.Api.Relay;

/// <summary>
/// A connection's transport pipes as the stream a <see cref="System.Net.WebSockets.WebSocket"/> reads and writes:
/// reads copy out of the input pipe's buffers, writes go into the output pipe and are flushed (the WebSocket writes
/// whole frames). Asynchronous only, as the WebSocket uses it. The pipes stay open: Kestrel completes them when the
/// connection's handler returns.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe transport) : Stream
{
    private readonly PipeReader _input = transport.Input;
    private readonly PipeWriter _output = transport.Output;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var data = result.Buffer;
            if (!data.IsEmpty)
            {
                var count = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, count).CopyTo(buffer.Span);
                _input.AdvanceTo(data.GetPosition(count));
                return count;
            }

            _input.AdvanceTo(data.End);
            if (result.IsCompleted)
            {
                return 0;
            }

            if (result.IsCanceled)
            {
                throw new OperationCanceledException("The read was canceled.");
            }
        }
    }

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
