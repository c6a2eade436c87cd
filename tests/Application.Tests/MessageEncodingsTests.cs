using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Tests;

public sealed class MessageEncodingsTests
{
    private static ConversationMessage Message(string text, ConversationRole role = ConversationRole.User) => new(role, [new TextBlock(text)]);

    [Fact]
    public void Each_message_is_encoded_once_while_it_is_sent_and_again_only_after_a_request_left_it_out()
    {
        var encodings = new MessageEncodings();
        var encoded = new List<string>();
        byte[] Encode(ConversationMessage message)
        {
            encoded.Add(message.Text);
            return System.Text.Encoding.UTF8.GetBytes(message.Text);
        }

        var (a, b, c) = (Message("a"), Message("b", ConversationRole.Assistant), Message("c"));
        Assert.Equal(["a"], encodings.For([a], 1, Encode).Select(System.Text.Encoding.UTF8.GetString));
        Assert.Equal(["a", "b"], encodings.For([a, b, c], 2, Encode).Select(System.Text.Encoding.UTF8.GetString)); // c: not asked for
        Assert.Equal(["a", "b", "c"], encodings.For([a, b, c], 3, Encode).Select(System.Text.Encoding.UTF8.GetString));
        Assert.Equal(["a", "b", "c"], encoded);

        // An equal message that is another object is encoded for itself; a message left out is dropped.
        var a2 = Message("a");
        encodings.For([a2, c], 2, Encode);
        encodings.For([a, c], 2, Encode);
        Assert.Equal(["a", "b", "c", "a", "a"], encoded);
        Assert.Throws<ArgumentOutOfRangeException>(() => encodings.For([a], 2, Encode));
    }
}
