using System.Text;
using System.Text.RegularExpressions;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Domain.Conversations;

/// <summary>A use case's own pattern to redact: what matches is replaced with <c>[name]</c>.</summary>
public sealed partial record RedactionRule
{
    public RedactionRule(string name, string pattern)
    {
        if (string.IsNullOrWhiteSpace(name) || !ValidName().IsMatch(name))
        {
            throw new DomainException($"Redaction rule '{name}': a name is 1 to 40 letters, digits, spaces, '_' or '-'.");
        }

        if (string.IsNullOrEmpty(pattern))
        {
            throw new DomainException($"Redaction rule '{name}' needs a pattern.");
        }

        try
        {
            Regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, PiiRedactor.MatchTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new DomainException($"Redaction rule '{name}': '{pattern}' is not a valid regular expression ({ex.Message}).");
        }

        if (Regex.IsMatch(string.Empty))
        {
            throw new DomainException($"Redaction rule '{name}': the pattern matches empty text, which would redact nothing useful.");
        }

        Name = name;
        Pattern = pattern;
    }

    public string Name { get; }

    public string Pattern { get; }

    internal Regex Regex { get; }

    /// <summary>What a match becomes in the text the model, the store and the logs see.</summary>
    public string Marker => "[" + Name + "]";

    [GeneratedRegex("^[A-Za-z0-9 _-]{1,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex ValidName();
}

/// <summary>
/// Takes personal data out of what the caller said before the model, the store or a log line sees it: card numbers
/// (13 to 19 digits, Luhn-valid, with spaces, dashes or commas between groups, or spoken as words), US social
/// security numbers, and the use case's own patterns. Each becomes a readable marker ("[card number]") so the model
/// knows something was said and can steer the caller to a safe channel.
/// <para>
/// A partial prompt (the utterance so far) may end in the first digits of a number still being read out; there, a
/// trailing run of four or more digits is withheld as "[number]" until the final prompt shows what it was.
/// </para>
/// </summary>
public sealed class PiiRedactor
{
    public const string CardMarker = "[card number]";
    public const string SsnMarker = "[social security number]";
    public const string NumberMarker = "[number]";

    /// <summary>Used instead of the text when a use case's pattern runs too long: nothing unchecked gets through.</summary>
    public const string UncheckedMarker = "[redacted]";

    internal static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    private const int PartialWithheldDigits = 4;

    private readonly IReadOnlyList<RedactionRule> _rules;

    public PiiRedactor(IReadOnlyList<RedactionRule>? rules = null) => _rules = rules ?? [];

    /// <summary>Card numbers and social security numbers only (for text that has no use case: Twilio's error text).</summary>
    public static PiiRedactor BuiltIn { get; } = new();

    /// <summary>
    /// <paramref name="text"/> with personal data replaced by markers (the same instance when there was none).
    /// <paramref name="partial"/>: the text may stop in the middle of a number.
    /// </summary>
    public string Redact(string text, bool partial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var redacted = RedactNumbers(text, partial);
        foreach (var rule in _rules)
        {
            try
            {
                if (rule.Regex.IsMatch(redacted))
                {
                    redacted = rule.Regex.Replace(redacted, rule.Marker);
                }
            }
            catch (RegexMatchTimeoutException)
            {
                return UncheckedMarker;
            }
        }

        return redacted;
    }

    /// <summary>Whether <paramref name="digits"/> (0-9 only) pass the Luhn check.</summary>
    public static bool IsLuhnValid(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        var doubled = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (doubled)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubled = !doubled;
        }

        return digits.Length > 0 && sum % 10 == 0;
    }

    private static string RedactNumbers(string text, bool partial)
    {
        var tokens = Tokenise(text);
        if (tokens.Count == 0)
        {
            return text;
        }

        var spans = new List<(int Start, int End, string Marker)>();
        var mentionsSsn = MentionsSsn(text);
        var runStart = 0;
        for (var i = 1; i <= tokens.Count; i++)
        {
            if (i == tokens.Count || !OnlySeparatorsBetween(text, tokens[i - 1].End, tokens[i].Start))
            {
                FindInRun(text, tokens, runStart, i, mentionsSsn, partial, spans);
                runStart = i;
            }
        }

        if (spans.Count == 0)
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        var at = 0;
        foreach (var (start, end, marker) in spans)
        {
            result.Append(text, at, start - at).Append(marker);
            at = end;
        }

        return result.Append(text, at, text.Length - at).ToString();
    }

    /// <summary>Finds what to redact among tokens [from, to), one run of numbers with only separators between them.</summary>
    private static void FindInRun(string text, List<Token> tokens, int from, int to, bool mentionsSsn, bool partial, List<(int, int, string)> spans)
    {
        var total = 0;
        for (var i = from; i < to; i++)
        {
            total += tokens[i].Digits.Length;
        }

        if (total < 9 && !(partial && total >= PartialWithheldDigits && EndsText(text, tokens[to - 1].End)))
        {
            return;
        }

        // A card number anywhere in the run takes the whole run: the digits read out next to it are its expiry and code.
        for (var i = from; i < to; i++)
        {
            var digits = new StringBuilder();
            for (var j = i; j < to && digits.Length < 19; j++)
            {
                digits.Append(tokens[j].Digits);
                if (digits.Length is >= 13 and <= 19 && IsLuhnValid(digits.ToString()))
                {
                    spans.Add((tokens[from].Start, tokens[to - 1].End, CardMarker));
                    return;
                }
            }
        }

        var kept = from;
        for (var i = from; i < to; i++)
        {
            var digits = new StringBuilder();
            for (var j = i; j < to && digits.Length < 9; j++)
            {
                digits.Append(tokens[j].Digits);
                if (digits.Length == 9 && IsSsn(digits.ToString()) && (mentionsSsn || IsSsnLayout(text, tokens, i, j)))
                {
                    spans.Add((tokens[i].Start, tokens[j].End, SsnMarker));
                    kept = j + 1;
                    i = j;
                    break;
                }
            }
        }

        if (partial && kept < to && EndsText(text, tokens[to - 1].End))
        {
            var trailing = 0;
            for (var i = kept; i < to; i++)
            {
                trailing += tokens[i].Digits.Length;
            }

            if (trailing >= PartialWithheldDigits)
            {
                spans.Add((tokens[kept].Start, tokens[to - 1].End, NumberMarker));
            }
        }
    }

    /// <summary>Written as a social security number is: three, two and four digits, with dashes or spaces.</summary>
    private static bool IsSsnLayout(string text, List<Token> tokens, int first, int last) =>
        last - first == 2
        && tokens[first].Digits.Length == 3 && tokens[first + 1].Digits.Length == 2 && tokens[last].Digits.Length == 4
        && tokens[first].IsWritten && tokens[first + 1].IsWritten && tokens[last].IsWritten
        && OnlySeparatorsBetween(text, tokens[first].End, tokens[first + 1].Start, allowComma: false)
        && OnlySeparatorsBetween(text, tokens[first + 1].End, tokens[last].Start, allowComma: false);

    /// <summary>Area 001-899 except 666, group 01-99, serial 0001-9999 (the numbers the SSA issues).</summary>
    private static bool IsSsn(string digits) =>
        digits[..3] is not ("000" or "666") && digits[0] != '9' && digits[3..5] != "00" && digits[5..] != "0000";

    private static bool MentionsSsn(string text) =>
        text.Contains("social security", StringComparison.OrdinalIgnoreCase)
        || text.Contains("SSN", StringComparison.OrdinalIgnoreCase)
        || text.Contains("social", StringComparison.OrdinalIgnoreCase);

    private static bool EndsText(string text, int end)
    {
        for (var i = end; i < text.Length; i++)
        {
            if (!IsSeparator(text[i], allowComma: true) && text[i] is not ('?' or '!'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool OnlySeparatorsBetween(string text, int start, int end, bool allowComma = true)
    {
        for (var i = start; i < end; i++)
        {
            if (!IsSeparator(text[i], allowComma))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsSeparator(char c, bool allowComma) =>
        char.IsWhiteSpace(c) || c is '-' or '–' or '/' || (allowComma && c is ',' or '.');

    /// <summary>Digit groups and digit words ("four", "oh", "double one"), with where each is in the text.</summary>
    private static List<Token> Tokenise(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        var repeat = 1;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsAsciiDigit(c))
            {
                var start = i;
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }

                if (i < text.Length && char.IsLetter(text[i]))
                {
                    // "1st", "4th", "2pm": not part of a number being read out.
                    while (i < text.Length && char.IsLetterOrDigit(text[i]))
                    {
                        i++;
                    }

                    repeat = 1;
                    continue;
                }

                tokens.Add(new Token(start, i, text[start..i], IsWritten: true));
                repeat = 1;
            }
            else if (char.IsLetter(c))
            {
                var start = i;
                while (i < text.Length && (char.IsLetter(text[i]) || text[i] == '\''))
                {
                    i++;
                }

                var word = text.AsSpan(start, i - start);
                if (word.Equals("double", StringComparison.OrdinalIgnoreCase) || word.Equals("triple", StringComparison.OrdinalIgnoreCase))
                {
                    // Part of the number it repeats ("four double one"): a token of no digits keeps the run together.
                    repeat = word[0] is 'd' or 'D' ? 2 : 3;
                    tokens.Add(new Token(start, i, string.Empty, IsWritten: false));
                }
                else if (DigitOf(word) is { } digit)
                {
                    tokens.Add(new Token(start, i, new string(digit, repeat), IsWritten: false));
                    repeat = 1;
                }
                else
                {
                    repeat = 1;
                }
            }
            else
            {
                i++;
            }
        }

        return tokens;
    }

    private static char? DigitOf(ReadOnlySpan<char> word) => word.Length switch
    {
        1 when word[0] is 'o' or 'O' => '0',
        2 when word.Equals("oh", StringComparison.OrdinalIgnoreCase) => '0',
        3 when word.Equals("one", StringComparison.OrdinalIgnoreCase) => '1',
        3 when word.Equals("two", StringComparison.OrdinalIgnoreCase) => '2',
        3 when word.Equals("six", StringComparison.OrdinalIgnoreCase) => '6',
        4 when word.Equals("zero", StringComparison.OrdinalIgnoreCase) => '0',
        4 when word.Equals("four", StringComparison.OrdinalIgnoreCase) => '4',
        4 when word.Equals("five", StringComparison.OrdinalIgnoreCase) => '5',
        4 when word.Equals("nine", StringComparison.OrdinalIgnoreCase) => '9',
        5 when word.Equals("three", StringComparison.OrdinalIgnoreCase) => '3',
        5 when word.Equals("seven", StringComparison.OrdinalIgnoreCase) => '7',
        5 when word.Equals("eight", StringComparison.OrdinalIgnoreCase) => '8',
        _ => null,
    };

    private readonly record struct Token(int Start, int End, string Digits, bool IsWritten);
}
