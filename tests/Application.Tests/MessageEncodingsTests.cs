using System.Buffers;
using System.Text;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Tests;

public sealed class MessageEncodingsTests
{
    private static ConversationMessage Message(string text, ConversationRole role = ConversationRole.User) => new(role, [new TextBlock(text)]);

    /// <summary>An encoder that notes each message it encodes in <paramref name="encoded"/>.</summary>
    private static Action<ConversationMessage, IBufferWriter<byte>> Recording(List<string> encoded) => (message, into) =>
    {
        encoded.Add(message.Text);
        into.Write(Encoding.UTF8.GetBytes(message.Text));
    };

    private static IEnumerable<string> Texts(ArraySegment<ReadOnlyMemory<byte>> encodings) => encodings.Select(static e => Encoding.UTF8.GetString(e.Span));

    [Fact]
    public void Each_message_is_encoded_once_while_it_is_sent_and_again_only_after_a_request_left_it_out()
    {
        var encodings = new MessageEncodings();
        var encoded = new List<string>();
        var encode = Recording(encoded);

        var (a, b, c) = (Message("a"), Message("b", ConversationRole.Assistant), Message("c"));
        Assert.Equal(["a"], Texts(encodings.For([a], 1, encode)));
        Assert.Equal(["a", "b"], Texts(encodings.For([a, b, c], 2, encode))); // c: not asked for
        Assert.Equal(["a", "b", "c"], Texts(encodings.For([a, b, c], 3, encode)));
        Assert.Equal(["a", "b", "c"], encoded);

        // An equal message that is another object is encoded for itself; a message left out is dropped.
        var a2 = Message("a");
        encodings.For([a2, c], 2, encode);
        encodings.For([a, c], 2, encode);
        Assert.Equal(["a", "b", "c", "a", "a"], encoded);
        Assert.Throws<ArgumentOutOfRangeException>(() => encodings.For([a], 2, encode));
    }

    [Fact]
    public void A_history_folded_at_the_front_or_replaced_in_the_middle_keeps_the_encodings_of_the_messages_it_still_sends()
    {
        var encodings = new MessageEncodings();
        var encoded = new List<string>();
        var encode = Recording(encoded);

        var history = Enumerable.Range(0, 40).Select(i => Message($"m{i}", i % 2 == 0 ? ConversationRole.User : ConversationRole.Assistant)).ToList();
        encodings.For(history, 40, encode);
        Assert.Equal(40, encoded.Count);

        // The first 10 folded into a summary, one answer in the middle replaced (a barge-in's truncation), two new ones.
        var truncated = Message("m25 (cut)", ConversationRole.Assistant);
        var later = history.Skip(10).ToList();
        later[15] = truncated;
        later.Add(Message("m40"));
        later.Add(Message("m41", ConversationRole.Assistant));
        encoded.Clear();
        var result = encodings.For(later, later.Count, encode);
        Assert.Equal(["m25 (cut)", "m40", "m41"], encoded);
        Assert.Equal(later.Select(m => m.Text), Texts(result));

        // The replaced message's old encoding is gone; an order the walk cannot follow is still answered right.
        encoded.Clear();
        var reordered = new List<ConversationMessage> { later[^1], later[0], history[25] };
        result = encodings.For(reordered, 3, encode);
        Assert.Equal(["m25"], encoded);
        Assert.Equal(["m41", "m10", "m25"], Texts(result));
    }

    [Fact]
    public void A_growing_history_is_encoded_in_place_and_what_an_earlier_request_was_given_does_not_change()
    {
        var encodings = new MessageEncodings();
        var encoded = new List<string>();
        var encode = Recording(encoded);
        var history = Enumerable.Range(0, 30).Select(i => Message($"m{i}", i % 2 == 0 ? ConversationRole.User : ConversationRole.Assistant)).ToList();

        // Turn after turn, one or two messages more: each encoded once, however often the arrays grow.
        var given = new List<(int Count, ArraySegment<ReadOnlyMemory<byte>> Segment)>();
        foreach (var count in Enumerable.Range(1, history.Count).Where(c => c % 3 != 1 || c == 1))
        {
            given.Add((count, encodings.For(history, count, encode)));
        }

        Assert.Equal(history.Select(m => m.Text), encoded);
        Assert.All(given, g => Assert.Equal(history.Take(g.Count).Select(m => m.Text), Texts(g.Segment)));

        // A shorter request, then a different message in the middle: new arrays; every earlier segment still reads the same.
        Assert.Equal(["m0", "m1", "m2"], Texts(encodings.For(history, 3, encode)));
        var replaced = history.ToList();
        replaced[1] = Message("m1 (cut)", ConversationRole.Assistant);
        Assert.Equal(["m0", "m1 (cut)", "m2", "m3"], Texts(encodings.For(replaced, 4, encode)));
        Assert.Equal(["m0", "m1 (cut)", "m2", "m3", "m4"], Texts(encodings.For(replaced, 5, encode)));
        Assert.All(given, g => Assert.Equal(history.Take(g.Count).Select(m => m.Text), Texts(g.Segment)));
        Assert.Equal([.. history.Select(m => m.Text), "m1 (cut)", "m3", "m4"], encoded);
    }

    [Fact]
    public void An_encoding_written_in_pieces_or_longer_than_the_shared_arrays_stays_whole_and_unchanged_by_later_ones()
    {
        var encodings = new MessageEncodings();

        // Written a byte at a time, each piece asking for no more room than it needs: a message that does not fit what
        // is left of an array moves whole to the next one, and what was handed out before it stays as it was.
        Action<ConversationMessage, IBufferWriter<byte>> bytewise = (message, into) =>
        {
            foreach (var b in Encoding.UTF8.GetBytes(message.Text))
            {
                into.GetSpan(1)[0] = b;
                into.Advance(1);
            }
        };
        var history = Enumerable.Range(0, 60)
            .Select(i => Message(i == 31 ? new string('x', 10_000) : $"message {i} " + new string((char)('a' + (i % 26)), i * 7 % 300),
                i % 2 == 0 ? ConversationRole.User : ConversationRole.Assistant))
            .ToList();
        var given = new List<(int Count, ArraySegment<ReadOnlyMemory<byte>> Segment)>();
        for (var count = 1; count <= history.Count; count++)
        {
            given.Add((count, encodings.For(history, count, bytewise)));
        }

        Assert.All(given, g => Assert.Equal(history.Take(g.Count).Select(m => m.Text), Texts(g.Segment)));
        Assert.Throws<ArgumentOutOfRangeException>(() => encodings.For([Message("y")], 1, static (_, into) => into.Advance(into.GetSpan().Length + 1)));
    }
}
