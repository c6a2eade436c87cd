using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Conversations;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Application.Relay;

/// <summary>Hands a caller's input to the loop of the call it belongs to; an input for a call that is over is dropped.</summary>
internal sealed partial class CallInputs(IActiveCallRegistry registry, ILogger<CallInputs> logger)
{
    public void Post(string callSid, CallInput input)
    {
        if (!registry.TryGet(callSid, out var call) || call is null || !call.Post(input))
        {
            Log.CallGone(logger, LogIds.Call(callSid), input.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1501, Level = LogLevel.Debug, Message = "Call {CallSid}: a {Input} arrived after the call's session ended; dropped")]
        public static partial void CallGone(ILogger logger, string callSid, string input);
    }
}
