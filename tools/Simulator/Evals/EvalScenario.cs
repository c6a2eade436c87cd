using System.Text.Json;
using System.Text.Json.Nodes;

namespace VoiceAgent.Simulator.Evals;

/// <summary>
/// One eval scenario file: a caller's lines (or keypad digits) and what must hold of the agent's answers, per turn and
/// for the whole call. Model rounds under <c>turns[].model</c> are for the scripted model only (tools/FakeBedrock).
/// <code>
/// { "name": "...", "to": "+15550009999", "from": "+15550001234",
///   "every": { "maxSentences": 3, "noMarkdown": true, "firstTokenMs": 2000 },
///   "turns": [ { "say": "...", "expect": { "say": ["..."], "notSay": ["..."], "tools": [{ "name": "...", "input": {} }],
///                "noTools": true, "maxSentences": 2, "noMarkdown": true, "firstTokenMs": 1500, "judge": "...", "ends": true } } ],
///   "expect": { "tools": [...], "notTools": ["..."], "outcome": "order_placed", "judge": "..." } }
/// </code>
/// Phrases match without case; one written <c>/like this/</c> is a regular expression.
/// </summary>
public sealed record EvalScenario(string File, string Name, string To, string From, IReadOnlyList<EvalTurn> Turns, CallExpectations Expect)
{
    /// <summary>Whether a check needs the operations API (tool calls, the post-call record).</summary>
    public bool NeedsCallRecord => Expect.Tools.Count > 0 || Expect.NotTools.Count > 0 || Expect.Outcome is not null
        || Turns.Any(t => t.Expect.Tools.Count > 0 || t.Expect.NoTools);

    public bool NeedsJudge => Expect.Judge is not null || Turns.Any(t => t.Expect.Judge is not null);

    /// <summary>Every <c>*.json</c> file under <paramref name="directory"/>, recursively, in path order.</summary>
    public static IReadOnlyList<EvalScenario> LoadAll(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new InvalidDataException($"No scenario directory at {directory}.");
        }

        var scenarios = Directory.EnumerateFiles(directory, "*.json", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(Load)
            .ToList();
        if (scenarios.Count == 0)
        {
            throw new InvalidDataException($"No *.json scenario under {directory}.");
        }

        return scenarios;
    }

    public static EvalScenario Load(string file)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(System.IO.File.ReadAllText(file)) as JsonObject ?? throw new InvalidDataException($"{file}: a scenario is a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{file}: not valid JSON ({ex.Message}).", ex);
        }

        var reader = new Reader(file);
        reader.OnlyKeys(root, "scenario", "name", "description", "to", "from", "every", "turns", "expect");
        var every = root["every"] is JsonObject e ? reader.Turn(e, "every") : TurnExpectations.None;
        if (root["turns"] is not JsonArray { Count: > 0 } turnNodes)
        {
            throw new InvalidDataException($"{file}: \"turns\" must be a non-empty array.");
        }

        var turns = new List<EvalTurn>();
        foreach (var (node, i) in turnNodes.Select((n, i) => (n, i)))
        {
            var where = $"turns[{i}]";
            if (node is not JsonObject turn)
            {
                throw new InvalidDataException($"{file}: {where} must be an object.");
            }

            reader.OnlyKeys(turn, where, "say", "heard", "dtmf", "expect", "model");
            var say = reader.String(turn, "say", where);
            var dtmf = reader.String(turn, "dtmf", where);
            if ((say is null) == (dtmf is null))
            {
                throw new InvalidDataException($"{file}: {where} needs exactly one of \"say\" and \"dtmf\".");
            }

            if (dtmf is not null && dtmf.Any(c => !char.IsAsciiDigit(c) && c is not ('*' or '#')))
            {
                throw new InvalidDataException($"{file}: {where}.dtmf holds digits, * and # only.");
            }

            var own = turn["expect"] is JsonObject x ? reader.Turn(x, where + ".expect") : TurnExpectations.None;
            turns.Add(new EvalTurn(say, dtmf, own.Over(every)));
        }

        var call = root["expect"] is JsonObject c ? reader.Call(c) : new CallExpectations([], [], null, null);
        return new EvalScenario(
            file,
            reader.String(root, "name", "scenario") ?? Path.GetFileNameWithoutExtension(file),
            reader.String(root, "to", "scenario") ?? throw new InvalidDataException($"{file}: \"to\" (the dialled number, which picks the use case) is required."),
            reader.String(root, "from", "scenario") ?? "+15550001234",
            turns,
            call);
    }

    private sealed class Reader(string file)
    {
        public void OnlyKeys(JsonObject node, string where, params string[] keys)
        {
            foreach (var (key, _) in node)
            {
                if (!keys.Contains(key, StringComparer.Ordinal))
                {
                    throw new InvalidDataException($"{file}: {where} has an unknown key \"{key}\" (known: {string.Join(", ", keys)}).");
                }
            }
        }

        public string? String(JsonObject node, string key, string where) => node[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) && s.Length > 0 => s,
            _ => throw new InvalidDataException($"{file}: {where}.{key} must be a non-empty string."),
        };

        private int? Number(JsonObject node, string key, string where) => node[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<int>(out var n) && n > 0 => n,
            _ => throw new InvalidDataException($"{file}: {where}.{key} must be a positive whole number."),
        };

        private bool? Flag(JsonObject node, string key, string where) => node[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            _ => throw new InvalidDataException($"{file}: {where}.{key} must be true or false."),
        };

        private List<string> Strings(JsonObject node, string key, string where)
        {
            if (node[key] is null)
            {
                return [];
            }

            if (node[key] is not JsonArray array || array.Any(a => a is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length == 0))
            {
                throw new InvalidDataException($"{file}: {where}.{key} must be an array of non-empty strings.");
            }

            var values = array.Select(a => a!.GetValue<string>()).ToList();
            foreach (var value in values)
            {
                _ = Phrase.Parse(value, $"{file}: {where}.{key}");
            }

            return values;
        }

        private List<ToolExpectation> Tools(JsonObject node, string where)
        {
            if (node["tools"] is null)
            {
                return [];
            }

            if (node["tools"] is not JsonArray array)
            {
                throw new InvalidDataException($"{file}: {where}.tools must be an array of {{\"name\": ..., \"input\": {{...}}}}.");
            }

            var tools = new List<ToolExpectation>();
            foreach (var (item, i) in array.Select((n, i) => (n, i)))
            {
                if (item is not JsonObject tool)
                {
                    throw new InvalidDataException($"{file}: {where}.tools[{i}] must be an object.");
                }

                OnlyKeys(tool, $"{where}.tools[{i}]", "name", "input");
                var name = String(tool, "name", $"{where}.tools[{i}]") ?? throw new InvalidDataException($"{file}: {where}.tools[{i}].name is required.");
                if (tool["input"] is not (null or JsonObject))
                {
                    throw new InvalidDataException($"{file}: {where}.tools[{i}].input must be an object (the arguments that must be present).");
                }

                tools.Add(new ToolExpectation(name, tool["input"]?.ToJsonString()));
            }

            return tools;
        }

        public TurnExpectations Turn(JsonObject node, string where)
        {
            OnlyKeys(node, where, "say", "notSay", "tools", "noTools", "maxSentences", "noMarkdown", "firstTokenMs", "judge", "ends");
            return new TurnExpectations(
                Strings(node, "say", where),
                Strings(node, "notSay", where),
                Tools(node, where),
                Flag(node, "noTools", where) ?? false,
                Number(node, "maxSentences", where),
                Flag(node, "noMarkdown", where),
                Number(node, "firstTokenMs", where),
                String(node, "judge", where),
                Flag(node, "ends", where));
        }

        public CallExpectations Call(JsonObject node)
        {
            OnlyKeys(node, "expect", "tools", "notTools", "outcome", "judge");
            var notTools = node["notTools"] is null ? [] : Strings(node, "notTools", "expect");
            return new CallExpectations(Tools(node, "expect"), notTools, String(node, "outcome", "expect"), String(node, "judge", "expect"));
        }
    }
}

/// <summary>One caller turn: a line spoken or digits keyed, and what its answer must show.</summary>
public sealed record EvalTurn(string? Say, string? Dtmf, TurnExpectations Expect)
{
    public string Describe => Say ?? $"[keys {Dtmf}]";
}

/// <summary>What one answer must show; the scenario's <c>every</c> fills what a turn leaves unset.</summary>
public sealed record TurnExpectations(
    IReadOnlyList<string> Say,
    IReadOnlyList<string> NotSay,
    IReadOnlyList<ToolExpectation> Tools,
    bool NoTools,
    int? MaxSentences,
    bool? NoMarkdown,
    int? FirstTokenMs,
    string? Judge,
    bool? Ends)
{
    public static TurnExpectations None { get; } = new([], [], [], false, null, null, null, null, null);

    /// <summary>This turn's expectations with <paramref name="every"/>'s where this one sets none.</summary>
    public TurnExpectations Over(TurnExpectations every) => new(
        [.. every.Say, .. Say],
        [.. every.NotSay, .. NotSay],
        Tools,
        NoTools,
        MaxSentences ?? every.MaxSentences,
        NoMarkdown ?? every.NoMarkdown,
        FirstTokenMs ?? every.FirstTokenMs,
        Judge,
        Ends);
}

/// <summary>A tool the agent must call; <see cref="InputJson"/> names arguments that must be present with those values.</summary>
public sealed record ToolExpectation(string Name, string? InputJson)
{
    public string Describe => InputJson is null ? Name : $"{Name} {InputJson}";
}

/// <summary>What the whole call must show: tools called in this order (others may come between), tools never called, the post-call outcome.</summary>
public sealed record CallExpectations(IReadOnlyList<ToolExpectation> Tools, IReadOnlyList<string> NotTools, string? Outcome, string? Judge);
