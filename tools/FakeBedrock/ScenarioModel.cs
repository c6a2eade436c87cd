using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VoiceAgent.FakeBedrock;

/// <summary>
/// A scripted model behind the ConverseStream API, for evals in CI: it answers from the <c>model</c> rounds of eval
/// scenario files (<c>turns[].model</c>), chosen by what the request's conversation holds, so any number of calls can
/// run at once without shared state. The turn is found by the caller's last line (<c>turns[].heard</c>, else
/// <c>say</c>, compared without case, punctuation or spacing), the earlier lines breaking ties between scenarios; the
/// round by the tool results that followed that line. A request that forces a tool (a post-call extraction) gets that
/// tool with an empty input, a request without tools that matches no line (a summary) gets one plain sentence, and a
/// line no scenario scripts gets an answer saying so, which fails the eval that sent it.
/// </summary>
public sealed class ScenarioModel
{
    private readonly List<ScriptedTurn> _turns = [];

    private ScenarioModel()
    {
    }

    /// <summary>How many scripted caller turns were loaded.</summary>
    public int Turns => _turns.Count;

    /// <summary>Loads every <c>*.json</c> scenario under <paramref name="directories"/> (recursively).</summary>
    public static ScenarioModel Load(IEnumerable<string> directories)
    {
        ArgumentNullException.ThrowIfNull(directories);
        var model = new ScenarioModel();
        foreach (var directory in directories)
        {
            if (!Directory.Exists(directory))
            {
                throw new DirectoryNotFoundException($"No scenario directory at {directory}.");
            }

            foreach (var file in Directory.EnumerateFiles(directory, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                model.Add(file, JsonNode.Parse(File.ReadAllText(file)) as JsonObject
                    ?? throw new InvalidDataException($"{file}: a scenario is a JSON object."));
            }
        }

        return model;
    }

    private void Add(string file, JsonObject scenario)
    {
        if (scenario["turns"] is not JsonArray turns)
        {
            throw new InvalidDataException($"{file}: a scenario has \"turns\".");
        }

        var lines = new List<string>();
        foreach (var turn in turns.OfType<JsonObject>())
        {
            var heard = turn["heard"]?.GetValue<string>() ?? turn["say"]?.GetValue<string>();
            if (heard is null)
            {
                // A keypad turn without "heard": the model sees what the use case makes of the digits; not scriptable.
                lines.Add(string.Empty);
                continue;
            }

            lines.Add(Normalise(heard));
            if (turn["model"] is JsonArray rounds)
            {
                _turns.Add(new ScriptedTurn(file, [.. lines], [.. rounds.Select(r => Round.Parse(file, r))]));
            }
        }
    }

    /// <summary>The answer to one ConverseStream request body, as event-stream frames.</summary>
    public byte[] Answer(JsonElement request)
    {
        var callerLines = new List<string>();
        var round = 0;
        foreach (var message in request.TryGetProperty("messages", out var messages) ? messages.EnumerateArray() : default)
        {
            if (message.GetProperty("role").GetString() != "user")
            {
                continue;
            }

            var content = message.GetProperty("content").EnumerateArray().ToList();
            if (content.Any(b => b.TryGetProperty("toolResult", out _)))
            {
                round++;
                continue;
            }

            var text = string.Concat(content.Where(b => b.TryGetProperty("text", out _)).Select(b => b.GetProperty("text").GetString()));
            callerLines.Add(Normalise(text));
            round = 0;
        }

        if (request.TryGetProperty("toolConfig", out var config) && config.TryGetProperty("toolChoice", out var choice)
            && choice.TryGetProperty("tool", out var forced))
        {
            return Stream(new Round(null, forced.GetProperty("name").GetString(), "{}"), 0);
        }

        var turn = callerLines.Count == 0 ? null : Find(callerLines);
        if (turn is null)
        {
            var hasTools = request.TryGetProperty("toolConfig", out _);
            return Stream(new Round(hasTools ? $"There is no scripted answer to \"{(callerLines.Count > 0 ? callerLines[^1] : string.Empty)}\"." : "A scripted summary of the call.", null, null), 0);
        }

        return round < turn.Rounds.Count
            ? Stream(turn.Rounds[round], round)
            : Stream(new Round($"The script has no round {round + 1} for \"{callerLines[^1]}\".", null, null), round);
    }

    /// <summary>The scripted turn for the last caller line; of several, the one whose earlier lines match most.</summary>
    private ScriptedTurn? Find(List<string> callerLines)
    {
        ScriptedTurn? best = null;
        var bestScore = -1;
        foreach (var turn in _turns)
        {
            if (turn.Lines[^1] != callerLines[^1])
            {
                continue;
            }

            var score = 0;
            while (score + 1 < turn.Lines.Length && score + 1 < callerLines.Count
                && (turn.Lines[^(score + 2)].Length == 0 || turn.Lines[^(score + 2)] == callerLines[^(score + 2)]))
            {
                score++;
            }

            if (score > bestScore)
            {
                (best, bestScore) = (turn, score);
            }
        }

        return best;
    }

    private static byte[] Stream(Round round, int index)
    {
        var frames = new List<byte[]> { EventFrames.Event("messageStart", "{\"role\":\"assistant\"}") };
        var block = 0;
        var outputTokens = 0;
        if (round.Text is { Length: > 0 } text)
        {
            // Word by word, as a model streams.
            foreach (var word in Words(text))
            {
                frames.Add(EventFrames.Event("contentBlockDelta", JsonSerializer.Serialize(new { contentBlockIndex = block, delta = new { text = word } })));
                outputTokens++;
            }

            frames.Add(EventFrames.Event("contentBlockStop", $"{{\"contentBlockIndex\":{block}}}"));
            block++;
        }

        if (round.Tool is { } tool)
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"tooluse_scripted_{index}_{Guid.NewGuid():N}");
            frames.Add(EventFrames.Event("contentBlockStart", JsonSerializer.Serialize(new { contentBlockIndex = block, start = new { toolUse = new { toolUseId = id, name = tool } } })));
            frames.Add(EventFrames.Event("contentBlockDelta", JsonSerializer.Serialize(new { contentBlockIndex = block, delta = new { toolUse = new { input = round.InputJson ?? "{}" } } })));
            frames.Add(EventFrames.Event("contentBlockStop", $"{{\"contentBlockIndex\":{block}}}"));
            outputTokens += 10;
        }

        frames.Add(EventFrames.Event("messageStop", round.Tool is null ? "{\"stopReason\":\"end_turn\"}" : "{\"stopReason\":\"tool_use\"}"));
        frames.Add(EventFrames.Event("metadata", $"{{\"usage\":{{\"inputTokens\":100,\"outputTokens\":{outputTokens},\"totalTokens\":{100 + outputTokens}}},\"metrics\":{{\"latencyMs\":1}}}}"));
        return EventFrames.Concat([.. frames]);
    }

    private static IEnumerable<string> Words(string text)
    {
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i - 1] == ' ' && text[i] != ' '))
            {
                yield return text[start..i];
                start = i;
            }
        }
    }

    /// <summary>Lower case letters and digits, single spaces: what two transcripts of the same words share.</summary>
    public static string Normalise(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
            }
            else if (builder.Length > 0 && builder[^1] != ' ')
            {
                builder.Append(' ');
            }
        }

        return builder.ToString().TrimEnd();
    }

    private sealed record ScriptedTurn(string File, string[] Lines, List<Round> Rounds);

    /// <summary>One model round: text, then optionally one tool use.</summary>
    private sealed record Round(string? Text, string? Tool, string? InputJson)
    {
        public static Round Parse(string file, JsonNode? node)
        {
            if (node is not JsonObject round || (round["text"] is null && round["tool"] is null))
            {
                throw new InvalidDataException($"{file}: a model round is {{\"text\": \"...\"}} and/or {{\"tool\": \"name\", \"input\": {{...}}}}.");
            }

            return new Round(round["text"]?.GetValue<string>(), round["tool"]?.GetValue<string>(), round["input"]?.ToJsonString() ?? (round["tool"] is null ? null : "{}"));
        }
    }
}
