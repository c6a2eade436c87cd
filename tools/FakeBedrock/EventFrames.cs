using System.Text;
using Amazon.Runtime.EventStreams;

namespace VoiceAgent.FakeBedrock;

/// <summary>AWS event-stream frames as Bedrock's ConverseStream sends them, written by the AWS SDK's own codec.</summary>
public static class EventFrames
{
    /// <summary>An event frame (<c>:event-type</c>) with a JSON payload.</summary>
    public static byte[] Event(string eventType, string json) => Frame(":event-type", eventType, "event", json);

    /// <summary>An exception frame (<c>:exception-type</c>), as Bedrock ends a stream that fails mid-way.</summary>
    public static byte[] Exception(string exceptionType, string json) => Frame(":exception-type", exceptionType, "exception", json);

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Frame(string typeHeader, string type, string messageType, string json)
    {
        var headers = new List<IEventStreamHeader>();
        foreach (var (name, value) in new[] { (typeHeader, type), (":content-type", "application/json"), (":message-type", messageType) })
        {
            var header = new EventStreamHeader(name);
            header.SetString(value);
            headers.Add(header);
        }

        return new EventStreamMessage(headers, Encoding.UTF8.GetBytes(json)).ToByteArray();
    }
}
