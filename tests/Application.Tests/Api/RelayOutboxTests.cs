using VoiceAgent.Api.Relay;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;

namespace VoiceAgent.Application.Tests.Api;

public sealed class RelayOutboxTests
{
    [Fact]
    public async Task Queued_tokens_of_one_answer_leave_as_one_frame_that_ends_with_the_answer()
    {
        var outbox = new RelayOutbox(64);
        using var turn = NewTurn(1);
        foreach (var token in new[] { "We're ", "open ", "until ", "ten." })
        {
            await outbox.SendAsync(new SpeakText(token, Last: false), turn, CancellationToken.None);
        }

        await outbox.SendAsync(new SpeakText(string.Empty, Last: true), turn, CancellationToken.None);
        await outbox.SendAsync(new EndRelay(null), null, CancellationToken.None);

        Assert.True(outbox.TryTake(out var joined));
        Assert.Equal(new SpeakText("We're open until ten.", Last: true), joined.Message);
        Assert.Same(turn, joined.Turn);
        Assert.True(outbox.TryTake(out var end));
        Assert.IsType<EndRelay>(end.Message);
        Assert.False(outbox.TryTake(out _));
    }

    [Fact]
    public async Task A_token_alone_in_the_queue_goes_out_alone()
    {
        var outbox = new RelayOutbox(64);
        using var turn = NewTurn(1);
        await outbox.SendAsync(new SpeakText("Hello", Last: false), turn, CancellationToken.None);

        Assert.True(outbox.TryTake(out var frame));
        Assert.Equal(new SpeakText("Hello", Last: false), frame.Message);

        await outbox.SendAsync(new SpeakText(" there.", Last: true), turn, CancellationToken.None);
        Assert.True(outbox.TryTake(out frame));
        Assert.Equal(new SpeakText(" there.", Last: true), frame.Message);
    }

    [Fact]
    public async Task Tokens_are_not_joined_across_answers_turns_or_voice_settings()
    {
        var outbox = new RelayOutbox(64);
        using var first = NewTurn(1);
        using var second = NewTurn(2);
        await outbox.SendAsync(new SpeakText("One.", Last: true), first, CancellationToken.None);
        await outbox.SendAsync(new SpeakText("Two ", Last: false), first, CancellationToken.None);
        await outbox.SendAsync(new SpeakText("three ", Last: false), second, CancellationToken.None);
        await outbox.SendAsync(new SpeakText("cuatro ", Last: false, Lang: "es-ES"), second, CancellationToken.None);
        await outbox.SendAsync(new PlayMedia("https://example.com/hold.mp3"), second, CancellationToken.None);
        await outbox.SendAsync(new SpeakText("five.", Last: true), second, CancellationToken.None);

        var taken = new List<OutboundMessage>();
        while (outbox.TryTake(out var frame))
        {
            taken.Add(frame.Message);
        }

        Assert.Equal<OutboundMessage>(
            [
                new SpeakText("One.", Last: true),
                new SpeakText("Two ", Last: false),
                new SpeakText("three ", Last: false),
                new SpeakText("cuatro ", Last: false, Lang: "es-ES"),
                new PlayMedia("https://example.com/hold.mp3"),
                new SpeakText("five.", Last: true),
            ],
            taken);
    }

    [Fact]
    public async Task Frames_of_a_cancelled_turn_are_never_taken_even_when_queued_behind_a_joinable_token()
    {
        var outbox = new RelayOutbox(64);
        using var interrupted = NewTurn(1);
        using var next = NewTurn(2);
        await outbox.SendAsync(new SpeakText("Today ", Last: false), interrupted, CancellationToken.None);
        await outbox.SendAsync(new SpeakText("we have ", Last: false), interrupted, CancellationToken.None);
        await outbox.SendAsync(new SpeakText("Sure.", Last: true), next, CancellationToken.None);
        interrupted.Cancel();

        Assert.True(outbox.TryTake(out var frame));
        Assert.Equal(new SpeakText("Sure.", Last: true), frame.Message);
        Assert.False(outbox.TryTake(out _));
    }

    [Fact]
    public async Task A_long_burst_is_split_into_frames_of_bounded_size_without_losing_text()
    {
        var outbox = new RelayOutbox(1024);
        using var turn = NewTurn(1);
        var tokens = Enumerable.Range(0, 400).Select(i => $"w{i} ").ToList();
        foreach (var token in tokens)
        {
            await outbox.SendAsync(new SpeakText(token, Last: false), turn, CancellationToken.None);
        }

        await outbox.SendAsync(new SpeakText(string.Empty, Last: true), turn, CancellationToken.None);

        var frames = new List<SpeakText>();
        while (outbox.TryTake(out var frame))
        {
            frames.Add((SpeakText)frame.Message);
        }

        Assert.True(frames.Count > 1);
        Assert.All(frames, f => Assert.True(f.Token.Length < RelayOutbox.MaxJoinedChars + 8));
        Assert.Equal(string.Concat(tokens), string.Concat(frames.Select(f => f.Token)));
        Assert.Equal([.. Enumerable.Repeat(false, frames.Count - 1), true], frames.Select(f => f.Last));
    }

    [Fact]
    public async Task Completing_lets_the_reader_drain_what_is_queued_then_stop_and_refuses_later_frames()
    {
        var outbox = new RelayOutbox(1);
        await outbox.SendAsync(new EndRelay(null), null, CancellationToken.None);
        var blocked = outbox.SendAsync(new EndRelay("late"), null, CancellationToken.None);
        outbox.Complete();

        Assert.True(await outbox.WaitToReadAsync());
        Assert.True(outbox.TryTake(out _));
        Assert.False(await outbox.WaitToReadAsync());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await blocked);
    }

    private static TurnHandle NewTurn(long id) => new(id, "caller input", CancellationToken.None);
}
