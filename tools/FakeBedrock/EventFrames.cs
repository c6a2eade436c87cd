using System.Text;
using Amazon.Runtime.EventStreams;

namespace VoiceAgent.FakeBedrock;

/// <summary>AWS event-stream frames as Bedrock's ConverseStream sends them, written by the AWS SDK's own codec.</summary>
internal static class EventFrames
{
    public static byte[] Event(string eventType, string json)
    {
        var headers = new List<IEventStreamHeader>();
        foreach (var (name, value) in new[] { (":event-type", eventType), (":content-type", "application/json"), (":message-type", "event") })
        {
            var header = new EventStreamHeader(name);
            header.SetString(value);
            headers.Add(header);
        }

        return new EventStreamMessage(headers, Encoding.UTF8.GetBytes(json)).ToByteArray();
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
