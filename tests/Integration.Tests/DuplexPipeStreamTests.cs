using System.Buffers;
using System.IO.Pipelines;
using VoiceAgent.Api.Relay;

namespace VoiceAgent.Integration.Tests;

/// <summary>The stream a WebSocket served below HTTP reads and writes: the connection's pipes, as they behave.</summary>
public sealed class DuplexPipeStreamTests
{
    [Fact]
    public async Task Reads_wait_for_data_split_it_into_the_readers_buffers_and_end_with_the_input()
    {
        var (stream, toStream, _) = Connect();
        var buffer = new byte[4];

        // Nothing yet: the read waits (on the stream's own completion) until bytes come.
        var waiting = stream.ReadAsync(buffer.AsMemory());
        Assert.False(waiting.IsCompleted);
        await toStream.WriteAsync("abcdef"u8.ToArray());
        Assert.Equal(4, await waiting);
        Assert.Equal("abcd"u8.ToArray(), buffer);

        // The rest is there already: answered at once, then a wait again, reusing the same completion.
        Assert.Equal(2, await stream.ReadAsync(buffer.AsMemory()));
        Assert.Equal("ef"u8.ToArray(), buffer[..2]);
        for (var i = 0; i < 3; i++)
        {
            var next = stream.ReadAsync(buffer.AsMemory());
            Assert.False(next.IsCompleted);
            await toStream.WriteAsync(new[] { (byte)('0' + i) });
            Assert.Equal(1, await next);
            Assert.Equal((byte)('0' + i), buffer[0]);
        }

        var last = stream.ReadAsync(buffer.AsMemory());
        await toStream.CompleteAsync();
        Assert.Equal(0, await last);
    }

    [Fact]
    public async Task A_waiting_read_is_cancelled_by_its_token_and_writes_reach_the_output()
    {
        var (stream, _, fromStream) = Connect();
        using var cancel = new CancellationTokenSource();
        var waiting = stream.ReadAsync(new byte[8].AsMemory(), cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);

        await stream.WriteAsync("frame"u8.ToArray());
        var written = await fromStream.ReadAsync();
        Assert.Equal("frame"u8.ToArray(), written.Buffer.ToArray());
    }

    private static (DuplexPipeStream Stream, PipeWriter ToStream, PipeReader FromStream) Connect()
    {
        var input = new Pipe();
        var output = new Pipe();
        return (new DuplexPipeStream(new Transport(input.Reader, output.Writer)), input.Writer, output.Reader);
    }

    private sealed class Transport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
