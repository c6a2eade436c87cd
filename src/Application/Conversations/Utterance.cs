namespace VoiceAgent.Application.Conversations;

/// <summary>Bounds what one caller utterance may hold (Conversation:MaxUtteranceChars).</summary>
internal static class Utterance
{
    /// <summary>
    /// <paramref name="text"/> trimmed, and cut after at most <paramref name="maxChars"/> characters at a word
    /// boundary (mid-word only when the first half has no space), never between a surrogate pair.
    /// </summary>
    public static string Cut(string text, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.Length <= maxChars)
        {
            return text;
        }

        var end = text.AsSpan(0, maxChars + 1).LastIndexOfAny(' ', '\n', '\t');
        if (end < maxChars / 2)
        {
            end = char.IsHighSurrogate(text[maxChars - 1]) ? maxChars - 1 : maxChars;
        }

        return text[..end].TrimEnd();
    }

    /// <summary>
    /// Joins input a superseded turn never used with what the caller said next. Past <paramref name="maxChars"/>
    /// the newest words are kept: they are what the caller is waiting to hear answered.
    /// </summary>
    public static string Join(string earlier, string later, int maxChars)
    {
        var joined = earlier + " " + later;
        if (joined.Length <= maxChars)
        {
            return joined;
        }

        var start = joined.Length - maxChars;
        var space = joined.AsSpan(start, maxChars / 2).IndexOfAny(' ', '\n', '\t');
        if (space >= 0)
        {
            start += space + 1;
        }
        else if (char.IsLowSurrogate(joined[start]))
        {
            start++;
        }

        return joined[start..].Trim();
    }

    /// <summary>Spoken filler that does not change what the caller asked.</summary>
    private static readonly HashSet<string> Fillers = new(StringComparer.Ordinal) { "um", "umm", "uh", "uhm", "uhh", "er", "erm", "ah", "hmm", "mm", "mhm" };

    /// <summary>
    /// The words of <paramref name="text"/> for comparing a partial prompt with the final one: lower case, without
    /// punctuation, single-spaced, without filler words ("Um, a large pepperoni." and "a large pepperoni" match).
    /// </summary>
    public static string Normalise(string text)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        foreach (var c in text.AsSpan())
        {
            if (char.IsLetterOrDigit(c) || c == '\'')
            {
                word.Append(char.ToLowerInvariant(c));
                continue;
            }

            Flush();
        }

        Flush();
        return string.Join(' ', words);

        void Flush()
        {
            if (word.Length > 0)
            {
                var w = word.ToString().Trim('\'');
                if (w.Length > 0 && !Fillers.Contains(w))
                {
                    words.Add(w);
                }

                word.Clear();
            }
        }
    }
}
