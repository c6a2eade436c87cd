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
}
