using System.Buffers;
using System.Text;

namespace VoiceAgent.Api.Relay;

/// <summary>What the first bytes of a connection are, to the relay's connection handler.</summary>
internal enum HeadVerdict
{
    /// <summary>So far a relay upgrade; its head is not complete yet.</summary>
    NeedMore,

    /// <summary>Anything else (another path or method, HTTP/2, TLS, or an upgrade with anything unusual): Kestrel's.</summary>
    NotOurs,

    /// <summary>A complete, plain WebSocket upgrade of /ws over HTTP/1.1.</summary>
    Ours,
}

/// <summary>
/// The head of a relay upgrade, read from a connection's first bytes without Kestrel's HTTP layer. Only the plainest
/// form is taken: <c>GET /ws[?query] HTTP/1.1</c>, one Host, <c>Upgrade: websocket</c>, a Connection header naming
/// upgrade, <c>Sec-WebSocket-Version: 13</c>, a valid key, no body, printable ASCII, at most <see cref="MaxBytes"/>.
/// Everything else — a refusal included (400 for a bad upgrade) — is left to Kestrel, which answers as it always has.
/// </summary>
internal sealed class RelayUpgradeHead
{
    /// <summary>A Twilio upgrade head is under 1 KB; a longer one is Kestrel's (which allows 32 KB).</summary>
    public const int MaxBytes = 8 * 1024;

    private RelayUpgradeHead(string? query, string key, string? signature, string? forwardedFor)
    {
        Query = query;
        Key = key;
        Signature = signature;
        ForwardedFor = forwardedFor;
    }

    public static string Path => "/ws";

    /// <summary>The raw query with its '?', as the signature covers it; null without one.</summary>
    public string? Query { get; }

    /// <summary>Sec-WebSocket-Key.</summary>
    public string Key { get; }

    /// <summary>X-Twilio-Signature, or null.</summary>
    public string? Signature { get; }

    /// <summary>X-Forwarded-For (several headers joined with commas, as Kestrel joins them), or null.</summary>
    public string? ForwardedFor { get; }

    private static ReadOnlySpan<byte> Start => "GET /ws"u8;

    private static ReadOnlySpan<byte> EndOfHead => "\r\n\r\n"u8;

    /// <summary>
    /// Reads the head from <paramref name="buffer"/> (a connection's first bytes). When <see cref="HeadVerdict.Ours"/>,
    /// <paramref name="length"/> is the head's length including its blank line.
    /// </summary>
    public static HeadVerdict TryRead(in ReadOnlySequence<byte> buffer, out RelayUpgradeHead? head, out int length)
    {
        head = null;
        length = 0;
        Span<byte> first = stackalloc byte[8];
        var have = (int)Math.Min(buffer.Length, Start.Length + 1);
        buffer.Slice(0, have).CopyTo(first);
        var compared = Math.Min(have, Start.Length);
        if (!first[..compared].SequenceEqual(Start[..compared]))
        {
            return HeadVerdict.NotOurs;
        }

        if (have <= Start.Length)
        {
            return HeadVerdict.NeedMore;
        }

        if (first[Start.Length] is not ((byte)'?' or (byte)' '))
        {
            return HeadVerdict.NotOurs;
        }

        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> lines, EndOfHead, advancePastDelimiter: true))
        {
            return buffer.Length >= MaxBytes ? HeadVerdict.NotOurs : HeadVerdict.NeedMore;
        }

        if (reader.Consumed > MaxBytes)
        {
            return HeadVerdict.NotOurs;
        }

        length = (int)reader.Consumed;
        var bytes = ArrayPool<byte>.Shared.Rent((int)lines.Length);
        try
        {
            lines.CopyTo(bytes);
            head = Parse(bytes.AsSpan(0, (int)lines.Length));
            return head is null ? HeadVerdict.NotOurs : HeadVerdict.Ours;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private static RelayUpgradeHead? Parse(ReadOnlySpan<byte> text)
    {
        var end = text.IndexOf("\r\n"u8);
        var requestLine = end < 0 ? text : text[..end];
        var rest = end < 0 ? [] : text[(end + 2)..];
        if (requestLine.Length < Start.Length + " HTTP/1.1".Length || !requestLine.StartsWith(Start) || !requestLine.EndsWith(" HTTP/1.1"u8))
        {
            return null;
        }

        var target = requestLine["GET ".Length..^" HTTP/1.1".Length];
        if (!target.StartsWith(Start["GET ".Length..]) || !IsPrintable(target, allowSpace: false))
        {
            return null;
        }

        string? query = null;
        if (target.Length > Path.Length)
        {
            if (target[Path.Length] != (byte)'?')
            {
                return null;
            }

            query = Encoding.ASCII.GetString(target[Path.Length..]);
        }

        var hosts = 0;
        string? upgrade = null, version = null, key = null, signature = null, forwardedFor = null;
        var connectionUpgrade = false;
        while (!rest.IsEmpty)
        {
            end = rest.IndexOf("\r\n"u8);
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]) || !IsPrintable(line[(colon + 1)..], allowSpace: true))
            {
                return null;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                hosts++;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Upgrade"u8))
            {
                if (!Once(ref upgrade, value))
                {
                    return null;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                connectionUpgrade |= NamesUpgrade(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Version"u8))
            {
                if (!Once(ref version, value))
                {
                    return null;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Key"u8))
            {
                if (!Once(ref key, value))
                {
                    return null;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "X-Twilio-Signature"u8))
            {
                if (!Once(ref signature, value))
                {
                    return null;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "X-Forwarded-For"u8))
            {
                var address = Encoding.ASCII.GetString(value);
                forwardedFor = forwardedFor is null ? address : forwardedFor + "," + address;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) || Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) || Ascii.EqualsIgnoreCase(name, "Expect"u8))
            {
                // A body or a continue on an upgrade: unusual, so Kestrel's to judge.
                return null;
            }
        }

        var upgradable = hosts == 1
            && connectionUpgrade
            && string.Equals(upgrade, "websocket", StringComparison.OrdinalIgnoreCase)
            && version == "13"
            && IsKey(key);
        return upgradable ? new RelayUpgradeHead(query, key!, signature, forwardedFor) : null;
    }

    private static bool Once(ref string? field, ReadOnlySpan<byte> value)
    {
        if (field is not null)
        {
            return false;
        }

        field = Encoding.ASCII.GetString(value);
        return true;
    }

    private static bool NamesUpgrade(ReadOnlySpan<byte> value)
    {
        foreach (var range in value.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(value[range].Trim(" \t"u8), "Upgrade"u8))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsKey(string? key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key is { Length: 24 } && Convert.TryFromBase64String(key, decoded, out var written) && written == 16;
    }

    private static bool IsToken(ReadOnlySpan<byte> name)
    {
        foreach (var b in name)
        {
            if (b <= 0x20 || b >= 0x7F || "\"(),/:;<=>?@[\\]{}"u8.Contains(b))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsPrintable(ReadOnlySpan<byte> text, bool allowSpace)
    {
        foreach (var b in text)
        {
            var ok = b is > 0x20 and < 0x7F || (allowSpace && b is (byte)' ' or (byte)'\t');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
