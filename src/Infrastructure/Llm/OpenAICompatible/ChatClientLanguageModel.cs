using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Infrastructure.Llm.OpenAICompatible;

/// <summary>
/// <see cref="ILanguageModel"/> over a Microsoft.Extensions.AI chat client (the OpenAI-compatible adapter for
/// local endpoints such as Ollama). Function calls are surfaced as tool uses; the application runs them.
/// </summary>
internal sealed class ChatClientLanguageModel(IChatClient client, string defaultModel) : ILanguageModel
{
    public async IAsyncEnumerable<ModelStreamEvent> StreamAsync(
        ModelRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var messages = ToChatMessages(request);
        var options = new ChatOptions
        {
            ModelId = request.Settings.InferenceProfiles.Count > 0 ? request.Settings.InferenceProfiles[0] : defaultModel,
            MaxOutputTokens = request.Settings.MaxTokens,
            Temperature = request.Settings.Temperature,
            TopP = request.Settings.TopP,
        };
        if (request.Tools.Count > 0)
        {
            options.Tools = request.Tools
                .Select(t => (AITool)AIFunctionFactory.CreateDeclaration(t.Name, t.Description, ParseSchema(t.InputSchemaJson)))
                .ToList();
            options.ToolMode = ChatToolMode.Auto;
        }

        var stream = client.GetStreamingResponseAsync(messages, options, cancellationToken);
        await using var enumerator = stream.GetAsyncEnumerator(cancellationToken);
        ChatFinishReason? finish = null;
        ModelUsage? usage = null;
        var sawToolUse = false;
        while (true)
        {
            ChatResponseUpdate update;
            try
            {
                if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                {
                    break;
                }

                update = enumerator.Current;
            }
            catch (HttpRequestException ex)
            {
                throw new LanguageModelUnavailableException($"The model endpoint could not be reached: {ex.Message}", ex);
            }
            catch (System.ClientModel.ClientResultException ex)
            {
                throw new LanguageModelUnavailableException($"The model endpoint answered {ex.Status}: {ex.Message}", ex);
            }

            finish = update.FinishReason ?? finish;
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextContent { Text.Length: > 0 } text:
                        yield return new TextDelta(text.Text);
                        break;
                    case FunctionCallContent call:
                        sawToolUse = true;
                        yield return new ToolUseRequested(
                            call.CallId,
                            call.Name,
                            JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions));
                        break;
                    case UsageContent u:
                        usage = new ModelUsage((int)(u.Details.InputTokenCount ?? 0), (int)(u.Details.OutputTokenCount ?? 0));
                        break;
                }
            }
        }

        yield return new ModelCompleted(StopReasonOf(finish, sawToolUse), usage);
    }

    private static ModelStopReason StopReasonOf(ChatFinishReason? finish, bool sawToolUse)
    {
        if (sawToolUse || finish == ChatFinishReason.ToolCalls)
        {
            return ModelStopReason.ToolUse;
        }

        if (finish == ChatFinishReason.Length)
        {
            return ModelStopReason.MaxTokens;
        }

        return finish == ChatFinishReason.ContentFilter ? ModelStopReason.ContentFiltered : ModelStopReason.EndTurn;
    }

    private static JsonElement ParseSchema(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    internal static List<ChatMessage> ToChatMessages(ModelRequest request)
    {
        var messages = new List<ChatMessage>(request.Messages.Count + 1) { new(ChatRole.System, request.SystemPrompt) };
        foreach (var message in request.Messages)
        {
            if (message.Role == ConversationRole.Assistant)
            {
                var contents = new List<AIContent>();
                foreach (var block in message.Content.Where(static b => b is not ReasoningBlock))
                {
                    contents.Add(block switch
                    {
                        TextBlock t => new TextContent(t.Text),
                        ToolUseBlock u => new FunctionCallContent(u.ToolUseId, u.Name, ParseArguments(u.InputJson)),
                        _ => throw new InvalidOperationException($"Unexpected {block.GetType().Name} in an assistant message."),
                    });
                }

                messages.Add(new ChatMessage(ChatRole.Assistant, contents));
                continue;
            }

            // Tool results travel in a tool message; caller text in a user message, in that order.
            var results = message.ToolResults.Select(r => (AIContent)new FunctionResultContent(r.ToolUseId, r.Content)).ToList();
            if (results.Count > 0)
            {
                messages.Add(new ChatMessage(ChatRole.Tool, results));
            }

            var text = message.Text;
            if (text.Length > 0)
            {
                messages.Add(new ChatMessage(ChatRole.User, text));
            }
        }

        return messages;
    }

    private static Dictionary<string, object?> ParseArguments(string json)
    {
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? "{}" : json);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            arguments[property.Name] = property.Value.Clone();
        }

        return arguments;
    }
}
