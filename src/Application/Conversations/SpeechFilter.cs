using System.Text;

namespace VoiceAgent.Application.Conversations;

/// <summary>
/// Keeps what must not be spoken away from TTS, on the stream: <c>&lt;thinking&gt;…&lt;/thinking&gt;</c> sections
/// (tags may be split across deltas) and markdown (emphasis, code ticks, headings, bullets, link targets).
/// One instance per model message; <see cref="Flush"/> at its end.
/// </summary>
internal sealed class SpeechFilter
{
    private const string Open = "<thinking>";
    private const string Close = "</thinking>";

    /// <summary>A possible tag's start, held until it is told apart from text; made when a '&lt;' first comes.</summary>
    private StringBuilder? _held;
    private readonly StringBuilder _output = new();
    private bool _thinking;
    private bool _lineStart = true;
    private bool _afterBracket;
    private bool _inLinkTarget;
    private bool _spaceDue;
    private char _last = ' ';

    /// <summary>
    /// The part of <paramref name="delta"/> that can be spoken now (possibly empty): the delta itself when all of it
    /// can, as most deltas (no string made per token).
    /// </summary>
    public string Feed(string delta)
    {
        _output.Clear();
        foreach (var c in delta)
        {
            Accept(c);
        }

        return _output.Equals(delta.AsSpan()) ? delta : _output.ToString();
    }

    /// <summary>Whatever was held back at the end of the message (a '&lt;' that turned out not to be a tag).</summary>
    public string Flush()
    {
        _output.Clear();
        var held = _held?.ToString() ?? string.Empty;
        _held?.Clear();
        if (!_thinking)
        {
            foreach (var c in held)
            {
                Emit(c);
            }
        }

        _afterBracket = false;
        return _output.ToString();
    }

    private void Accept(char c)
    {
        if (_held is { Length: > 0 } || c == '<')
        {
            _held ??= new StringBuilder(Close.Length);
            _held.Append(c);
            var tag = _thinking ? Close : Open;
            var held = _held.ToString();
            if (tag.StartsWith(held, StringComparison.OrdinalIgnoreCase))
            {
                if (held.Length == tag.Length)
                {
                    _thinking = !_thinking;
                    _held.Clear();
                }

                return;
            }

            // Not our tag: its first character is ordinary text (or hidden thought); the rest is read again.
            _held.Clear();
            if (!_thinking)
            {
                Emit(held[0]);
            }

            foreach (var h in held.AsSpan(1))
            {
                Accept(h);
            }

            return;
        }

        if (!_thinking)
        {
            Emit(c);
        }
    }

    private void Emit(char c)
    {
        if (_inLinkTarget)
        {
            _inLinkTarget = c != ')';
            return;
        }

        if (_afterBracket)
        {
            _afterBracket = false;
            if (c == '(')
            {
                _inLinkTarget = true;
                return;
            }
        }

        switch (c)
        {
            case '*' or '`' or '~' or '[':
                return;
            case ']':
                _afterBracket = true;
                return;
            case '#' when _lineStart:
                return;
            case '-' or '•' when _lineStart:
                return;
            case '\n' or '\r':
                // A line break becomes one space before the next spoken character.
                _lineStart = true;
                _spaceDue = _last != ' ';
                return;
            case ' ' when _lineStart:
                return;
        }

        if (_spaceDue && c != ' ')
        {
            _output.Append(' ');
        }

        _spaceDue = false;
        _lineStart = false;
        _output.Append(c);
        _last = c;
    }
}
