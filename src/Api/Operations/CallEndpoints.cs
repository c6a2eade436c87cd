using System.Text.Json;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Persistence;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Api.Operations;

/// <summary>The operations API: a call with its post-call record and transcript (API key required).</summary>
internal static partial class CallEndpoints
{
    [System.Text.RegularExpressions.GeneratedRegex("^CA[0-9A-Za-z]{1,62}$")]
    private static partial System.Text.RegularExpressions.Regex CallSid();

    public static IEndpointRouteBuilder MapCallEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/calls/{callSid}", GetCallAsync).AddEndpointFilter<ApiKeyFilter>();
        return app;
    }

    private static async Task<IResult> GetCallAsync(string callSid, ICallRepository calls, CancellationToken cancellationToken)
    {
        if (!CallSid().IsMatch(callSid))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a CallSid (CA and letters or digits).");
        }

        var call = await calls.GetAsync(callSid, cancellationToken);
        if (call is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such call.");
        }

        var messages = await calls.GetMessagesAsync(callSid, cancellationToken);
        var toolCalls = await calls.GetToolCallsAsync(callSid, cancellationToken);
        using var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body))
        {
            Write(json, call, messages, toolCalls);
        }

        return Results.Bytes(body.ToArray(), "application/json");
    }

    private static void Write(Utf8JsonWriter json, Call call, IReadOnlyList<ConversationMessage> messages, IReadOnlyList<Domain.Tools.ToolCall> toolCalls)
    {
        json.WriteStartObject();
        json.WriteString("callSid", call.CallSid);
        json.WriteString("from", call.From);
        json.WriteString("to", call.To);
        json.WriteString("useCaseId", call.UseCaseId);
        json.WriteString("status", call.Status.ToString());
        json.WriteString("createdAt", call.CreatedAt);
        Optional(json, "connectedAt", call.ConnectedAt);
        Optional(json, "endedAt", call.EndedAt);
        json.WriteNumber("sessionSeconds", call.SessionSeconds);
        json.WriteNumber("inputTokens", call.Usage.Input);
        json.WriteNumber("outputTokens", call.Usage.Output);
        json.WriteNumber("costUsd", call.CostUsd);
        if (call.FirstTextP50Ms is { } p50)
        {
            json.WriteNumber("firstTextP50Ms", p50);
            json.WriteNumber("firstTextP95Ms", call.FirstTextP95Ms!.Value);
        }

        if (call.Record is { } record)
        {
            json.WriteStartObject("record");
            json.WriteString("outcome", record.Outcome);
            if (record.Summary is { } summary)
            {
                json.WriteString("summary", summary);
            }

            if (record.ExtractionJson is { } extraction)
            {
                json.WritePropertyName("extraction");
                json.WriteRawValue(extraction);
            }

            json.WriteNumber("durationSeconds", record.DurationSeconds);
            json.WriteNumber("turns", record.Turns);
            json.WriteNumber("interruptions", record.Interruptions);
            json.WriteNumber("inputTokens", record.InputTokens);
            json.WriteNumber("outputTokens", record.OutputTokens);
            json.WriteNumber("costUsd", record.CostUsd);
            json.WriteString("recordedAt", record.RecordedAt);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("record");
        }

        json.WriteStartArray("transcript");
        foreach (var message in messages)
        {
            json.WriteStartObject();
            json.WriteString("role", message.Role == ConversationRole.User ? "caller" : "agent");
            json.WriteString("text", message.Text);
            if (message.ToolUses.Any())
            {
                json.WriteStartArray("toolUses");
                foreach (var use in message.ToolUses)
                {
                    json.WriteStartObject();
                    json.WriteString("id", use.ToolUseId);
                    json.WriteString("name", use.Name);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            if (message.ToolResults.Any())
            {
                json.WriteStartArray("toolResults");
                foreach (var result in message.ToolResults)
                {
                    json.WriteStringValue(result.ToolUseId);
                }

                json.WriteEndArray();
            }

            if (message.Timings is { } timings)
            {
                json.WritePropertyName("timings");
                TimingsJson.Write(json, timings);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("toolCalls");
        foreach (var tool in toolCalls)
        {
            json.WriteStartObject();
            json.WriteString("toolUseId", tool.ToolUseId);
            json.WriteString("name", tool.Name);
            json.WriteString("startedAt", tool.StartedAt);
            json.WritePropertyName("input");
            WriteJsonOrString(json, tool.InputJson);
            json.WriteString("status", tool.Status.ToString());
            json.WriteString("result", tool.Result);
            json.WriteNumber("durationMs", Math.Round(tool.Duration.TotalMilliseconds));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>A tool's input as the JSON it is, or as a string when the model sent something that is not JSON.</summary>
    private static void WriteJsonOrString(Utf8JsonWriter json, string value)
    {
        try
        {
            using var document = JsonDocument.Parse(value);
            document.RootElement.WriteTo(json);
        }
        catch (JsonException)
        {
            json.WriteStringValue(value);
        }
    }

    private static void Optional(Utf8JsonWriter json, string name, DateTimeOffset? value)
    {
        if (value is { } time)
        {
            json.WriteString(name, time);
        }
    }
}
