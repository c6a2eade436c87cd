using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace VoiceAgent.Simulator.Evals;

/// <summary>One expectation's verdict in one run; <see cref="Skipped"/> when it could not be judged (no judge configured).</summary>
public sealed record CheckResult(string Name, bool Passed, string? Detail = null, bool Skipped = false);

/// <summary>A phrase to find in an answer: words without case, or a regular expression written <c>/like this/</c>.</summary>
public sealed class Phrase
{
    private readonly Regex _regex;

    private Phrase(string text, Regex regex) => (Text, _regex) = (text, regex);

    public string Text { get; }

    public static Phrase Parse(string text, string where)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            var pattern = text.Length > 2 && text[0] == '/' && text[^1] == '/' ? text[1..^1] : Regex.Escape(text);
            return new Phrase(text, new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)));
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{where}: \"{text}\" is not a valid regular expression ({ex.Message}).", ex);
        }
    }

    public bool In(string answer) => _regex.IsMatch(answer);
}

/// <summary>The checks on what the caller heard, and on the tools the call record shows.</summary>
public static partial class Checks
{
    [GeneratedRegex(@"(?<=[\p{L}\p{N})""'’])[.!?]+(?=[\s""'’)]|$)", RegexOptions.CultureInvariant)]
    private static partial Regex SentenceEnd();

    [GeneratedRegex(@"\*\*|__|`|^\s{0,3}#{1,6}\s|^\s*[-*+]\s|^\s*\d+[.)]\s|\[[^\]]+\]\([^)]+\)|^\s*\|.*\|\s*$|^\s*>\s", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex Markdown();

    /// <summary>
    /// Sentences a listener hears: ends of sentence after a word (not the point in "12.50" or "v1.2"), plus trailing
    /// words without an end mark.
    /// </summary>
    public static int Sentences(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // A trailing-off "..." before more of the same sentence ("Okay... let me check") is a pause, not an end.
        var ends = SentenceEnd().Matches(text)
            .Where(m => !(m.Value.StartsWith("..", StringComparison.Ordinal) && text[(m.Index + m.Length)..].TrimStart() is { Length: > 0 } rest && char.IsLower(rest[0])))
            .ToList();
        var tail = ends.Count == 0 ? text : text[(ends[^1].Index + ends[^1].Length)..];
        return tail.Any(char.IsLetterOrDigit) ? ends.Count + 1 : ends.Count;
    }

    /// <summary>The first markdown mark in <paramref name="text"/> (emphasis, code, headings, lists, links, tables, quotes), or null.</summary>
    public static string? MarkdownIn(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = Markdown().Match(text);
        return match.Success ? match.Value.Trim() : null;
    }

    /// <summary>The checks on one answer as heard.</summary>
    public static List<CheckResult> Answer(EvalTurn turn, TurnResult heard)
    {
        ArgumentNullException.ThrowIfNull(turn);
        ArgumentNullException.ThrowIfNull(heard);
        var expect = turn.Expect;
        var results = new List<CheckResult>();
        if (heard.Error is not null)
        {
            results.Add(new CheckResult("answered", false, heard.Error));
            return results;
        }

        foreach (var phrase in expect.Say)
        {
            results.Add(new CheckResult($"says \"{phrase}\"", Phrase.Parse(phrase, "say").In(heard.Text), Quote(heard.Text)));
        }

        foreach (var phrase in expect.NotSay)
        {
            results.Add(new CheckResult($"never says \"{phrase}\"", !Phrase.Parse(phrase, "notSay").In(heard.Text), Quote(heard.Text)));
        }

        if (expect.MaxSentences is { } max)
        {
            var sentences = Sentences(heard.Text);
            results.Add(new CheckResult($"at most {max} sentences", sentences <= max, $"{sentences} sentences: {Quote(heard.Text)}"));
        }

        if (expect.NoMarkdown == true)
        {
            var mark = MarkdownIn(heard.Text);
            results.Add(new CheckResult("no markdown", mark is null, mark is null ? null : $"\"{mark}\" in {Quote(heard.Text)}"));
        }

        if (expect.FirstTokenMs is { } bound)
        {
            results.Add(new CheckResult(
                $"first token within {bound} ms",
                heard.FirstTokenMs is { } ms && ms <= bound,
                heard.FirstTokenMs is { } measured ? string.Create(CultureInfo.InvariantCulture, $"{measured:0} ms") : "no text"));
        }

        if (expect.Ends is { } ends)
        {
            results.Add(new CheckResult(ends ? "ends the call" : "keeps the call open", heard.Ended == ends, heard.Ended ? $"ended{(heard.HandoffData is null ? string.Empty : " with " + heard.HandoffData)}" : "still open"));
        }

        return results;
    }

    /// <summary>Tools <paramref name="expected"/> in order among <paramref name="called"/> (others may come between).</summary>
    public static CheckResult ToolsInOrder(IReadOnlyList<ToolExpectation> expected, IReadOnlyList<CalledTool> called)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(called);
        var next = 0;
        foreach (var tool in called)
        {
            if (next < expected.Count && Matches(expected[next], tool))
            {
                next++;
            }
        }

        var name = "calls " + string.Join(", then ", expected.Select(e => e.Describe));
        var seen = called.Count == 0 ? "no tool was called" : "called: " + string.Join("; ", called.Select(c => $"{c.Name} {c.InputJson}"));
        return new CheckResult(name, next == expected.Count, seen);
    }

    public static bool Matches(ToolExpectation expected, CalledTool called)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(called);
        if (!string.Equals(expected.Name, called.Name, StringComparison.Ordinal))
        {
            return false;
        }

        if (expected.InputJson is null)
        {
            return true;
        }

        try
        {
            using var want = JsonDocument.Parse(expected.InputJson);
            using var got = JsonDocument.Parse(called.InputJson);
            return Contains(got.RootElement, want.RootElement);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether <paramref name="actual"/> holds <paramref name="expected"/>: objects by the expected properties (any
    /// key case), arrays by each expected element found somewhere, strings without case, numbers by value.
    /// </summary>
    public static bool Contains(JsonElement actual, JsonElement expected) => expected.ValueKind switch
    {
        JsonValueKind.Object => actual.ValueKind == JsonValueKind.Object
            && expected.EnumerateObject().All(p => actual.EnumerateObject().Any(a => string.Equals(a.Name, p.Name, StringComparison.OrdinalIgnoreCase) && Contains(a.Value, p.Value))),
        JsonValueKind.Array => actual.ValueKind == JsonValueKind.Array
            && expected.EnumerateArray().All(e => actual.EnumerateArray().Any(a => Contains(a, e))),
        JsonValueKind.String => actual.ValueKind == JsonValueKind.String
            && string.Equals(actual.GetString()!.Trim(), expected.GetString()!.Trim(), StringComparison.OrdinalIgnoreCase),
        JsonValueKind.Number => actual.ValueKind == JsonValueKind.Number && actual.GetDecimal() == expected.GetDecimal(),
        _ => actual.ValueKind == expected.ValueKind,
    };

    private static string Quote(string text) => "\"" + (text.Length > 160 ? text[..157] + "..." : text) + "\"";
}

/// <summary>What the caller heard of one turn.</summary>
public sealed record TurnResult(string Text, double? FirstTokenMs, double? AnswerMs, bool Ended, string? HandoffData, string? Error);

/// <summary>A tool call from the call record.</summary>
public sealed record CalledTool(string Name, string InputJson, string Status);
