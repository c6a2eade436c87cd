using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Infrastructure.Persistence.DynamoDb;

namespace VoiceAgent.Integration.Tests.Persistence;

/// <summary>
/// The journal writes a message's item straight as DynamoDB JSON; it must be, byte for byte, what the attribute
/// objects the rest of the store uses (and reads back) are written as.
/// </summary>
public sealed class MessageItemJsonTests
{
    private const long ExpiresAt = 1_795_000_000;

    public static TheoryData<string, int, ConversationMessage> Messages()
    {
        var data = new TheoryData<string, int, ConversationMessage>
        {
            { "CA0123456789abcdef0123456789abcdef", 0, new ConversationMessage(ConversationRole.User, [new TextBlock("A \"large\" pepperoni,\nplease — \u00e9\u4f60 \ud83c\udf55 <b>&amp;</b> \\ done")]) },
            {
                "CA0123456789abcdef0123456789abcdef", 1_234_567, new ConversationMessage(
                    ConversationRole.Assistant,
                    [new ReasoningBlock("Check the menu.", "sig=="), new TextBlock("One moment."), new ToolUseBlock("tu-1", "place_order", """{"size":"large","toppings":["pepperoni"]}""")])
                {
                    Moderation = "flagged: none",
                    Usage = new TokenUsage(1_200, 34, 1_000, 0),
                    Timings = new TurnTimings { ModelRequestMs = 1, FirstModelTokenMs = 250, FirstTextMs = 260, LastTextMs = 900, InterruptedMs = 700 },
                }
            },
            { "CA1", 2, new ConversationMessage(ConversationRole.User, [new ToolResultBlock("tu-1", """{"orderId":"O-1"}""", ToolResultStatus.Success)]) },
            { new string('C', 200), 3, new ConversationMessage(ConversationRole.Assistant, [new TextBlock("A 200-character caller id, and an empty moderation.")]) { Moderation = "" } },
            // Past what an item may hold: the content is cut to fit, the same way on both paths.
            { "CA2", 4, new ConversationMessage(ConversationRole.Assistant, [new TextBlock(new string('x', 200_000) + "\u00e9" + new string('y', 200_000))]) },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void A_message_item_written_straight_is_the_attribute_map_the_store_writes_and_reads(string callSid, int index, ConversationMessage message)
    {
        var indexed = new IndexedMessage(index, message);

        var straight = Written(json => ItemCodec.WriteMessage(json, callSid, indexed, ExpiresAt));
        var mapped = Written(json => AttributeJson.WriteMap(json, ItemCodec.FromMessage(callSid, indexed, ExpiresAt)));

        Assert.Equal(mapped, straight);
        using var item = JsonDocument.Parse(straight);
        var read = ItemCodec.ToMessage(AttributeJson.ReadMap(item.RootElement));
        Assert.Equal(message.Role, read.Role);
        Assert.Equal(message.Usage, read.Usage);
        Assert.Equal(message.Timings, read.Timings);
        if (message.Text.Length < 100_000)
        {
            Assert.Equal(message.Content, read.Content);
        }
        else
        {
            Assert.Contains("characters not stored]", read.Text, StringComparison.Ordinal);
        }
    }

    /// <summary>What <paramref name="write"/> writes, with the options the lean client writes its requests with.</summary>
    private static string Written(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true }))
        {
            write(json);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
