using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using VoiceAgent.Api.Twilio;
using VoiceAgent.Application.Calls;

namespace VoiceAgent.Api.Relay;

/// <summary>
/// A relay ticket: the proof, carried in the relay URL of one call's TwiML, that a WebSocket upgrade is the one this
/// service handed out for that call. It binds the call (CallSid, caller, dialled number, use case), expires, and is
/// used once (<see cref="Id"/> is claimed in the store).
/// </summary>
internal sealed record RelayTicket(string Id, DateTimeOffset ExpiresAt, CallContext Call);

/// <summary>
/// Seals and opens relay tickets with AES-256-GCM: the URL shows nothing of the call (no phone number reaches a load
/// balancer's access log) and any change to it is detected. The key is derived with HKDF-SHA256 from
/// Relay:TicketSecret, or from Twilio:AuthToken when none is set; tickets sealed with Relay:PreviousTicketSecret still
/// open, so the secret can be rotated while calls are being answered.
/// </summary>
internal sealed partial class RelayTicketCodec
{
    public const string QueryName = "ticket";

    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int MaxTicketChars = 4_096;
    private const int MaxParameters = 16;
    private static readonly byte[] Purpose = "voiceagent relay ticket v1"u8.ToArray();

    /// <summary>The associated data of an outbound call's context: it cannot be opened as a relay ticket, nor one as it.</summary>
    private static readonly byte[] OutboundPurpose = "voiceagent outbound call v1"u8.ToArray();

    private readonly byte[][] _keys;

    public RelayTicketCodec(IOptions<RelayOptions> relay, IOptions<TwilioOptions> twilio, ILogger<RelayTicketCodec> logger)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(twilio);
        var secret = relay.Value.TicketSecret;
        if (string.IsNullOrEmpty(secret))
        {
            secret = twilio.Value.AuthToken;
        }

        if (string.IsNullOrEmpty(secret))
        {
            // Development with signature checks off and no token: tickets work on this one process only.
            Log.EphemeralKey(logger);
            _keys = [RandomNumberGenerator.GetBytes(32)];
            return;
        }

        _keys = string.IsNullOrEmpty(relay.Value.PreviousTicketSecret)
            ? [DeriveKey(secret)]
            : [DeriveKey(secret), DeriveKey(relay.Value.PreviousTicketSecret)];
    }

    /// <summary>A new ticket for <paramref name="call"/>, valid until <paramref name="expiresAt"/>: URL-safe text.</summary>
    public string Seal(CallContext call, DateTimeOffset expiresAt) => Seal(call, expiresAt, Purpose);

    /// <summary>An outbound call's context for the TwiML URL Twilio fetches when the callee answers (sealed like a ticket, for another purpose).</summary>
    public string SealOutbound(CallContext call, DateTimeOffset expiresAt) => Seal(call, expiresAt, OutboundPurpose);

    /// <summary>The outbound context <paramref name="text"/> holds, or null when this service did not seal it as one.</summary>
    public RelayTicket? OpenOutbound(string text) => Open(text, OutboundPurpose);

    private string Seal(CallContext call, DateTimeOffset expiresAt, byte[] purpose)
    {
        ArgumentNullException.ThrowIfNull(call);
        var plain = Encode(call, expiresAt);
        var sealedBytes = new byte[NonceSize + plain.Length + TagSize];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(_keys[0], TagSize))
        {
            aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceSize, plain.Length), sealedBytes.AsSpan(NonceSize + plain.Length), purpose);
        }

        return Base64Url.EncodeToString(sealedBytes);
    }

    /// <summary>The ticket <paramref name="text"/> holds, or null when it is not one this service sealed (or was altered).</summary>
    public RelayTicket? Open(string text) => Open(text, Purpose);

    private RelayTicket? Open(string text, byte[] purpose)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxTicketChars || !Base64Url.IsValid(text))
        {
            return null;
        }

        var sealedBytes = Base64Url.DecodeFromChars(text);
        if (sealedBytes.Length < NonceSize + TagSize + 1)
        {
            return null;
        }

        var nonce = sealedBytes.AsSpan(0, NonceSize);
        var cipher = sealedBytes.AsSpan(NonceSize, sealedBytes.Length - NonceSize - TagSize);
        var tag = sealedBytes.AsSpan(sealedBytes.Length - TagSize);
        var plain = new byte[cipher.Length];
        foreach (var key in _keys)
        {
            using var aes = new AesGcm(key, TagSize);
            try
            {
                aes.Decrypt(nonce, cipher, tag, plain, purpose);
                return Decode(plain, Convert.ToHexStringLower(nonce));
            }
            catch (AuthenticationTagMismatchException)
            {
                // Not this key: try the previous one, if any.
            }
        }

        return null;
    }

    private static byte[] DeriveKey(string secret) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, salt: [], info: Purpose);

    // Layout: version, expiry (unix seconds, big-endian), resume flag, then length-prefixed UTF-8 strings: CallSid,
    // From, To, use case id, the parameter count, and each parameter's name and value.
    private static byte[] Encode(CallContext call, DateTimeOffset expiresAt)
    {
        if (call.Parameters.Count > MaxParameters)
        {
            throw new ArgumentException($"A relay ticket carries at most {MaxParameters} parameters.", nameof(call));
        }

        using var stream = new MemoryStream(128);
        stream.WriteByte(Version);
        Span<byte> expiry = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(expiry, expiresAt.ToUnixTimeSeconds());
        stream.Write(expiry);
        stream.WriteByte(call.Resume ? (byte)1 : (byte)0);
        WriteString(stream, call.CallSid);
        WriteString(stream, call.From);
        WriteString(stream, call.To);
        WriteString(stream, call.UseCaseId);
        stream.WriteByte((byte)call.Parameters.Count);
        foreach (var (name, value) in call.Parameters)
        {
            WriteString(stream, name);
            WriteString(stream, value);
        }

        return stream.ToArray();
    }

    private static void WriteString(MemoryStream stream, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length > ushort.MaxValue)
        {
            throw new ArgumentException("A relay ticket value is too long.", nameof(value));
        }

        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)bytes.Length);
        stream.Write(length);
        stream.Write(bytes);
    }

    private static RelayTicket? Decode(ReadOnlySpan<byte> plain, string id)
    {
        if (plain.Length < 10 || plain[0] != Version)
        {
            return null;
        }

        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(plain[1..]));
        var resume = plain[9] == 1;
        var rest = plain[10..];
        if (!TryRead(ref rest, out var callSid) || !TryRead(ref rest, out var from) || !TryRead(ref rest, out var to)
            || !TryRead(ref rest, out var useCaseId) || rest.Length < 1)
        {
            return null;
        }

        var count = rest[0];
        rest = rest[1..];
        var parameters = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            if (!TryRead(ref rest, out var name) || !TryRead(ref rest, out var value))
            {
                return null;
            }

            parameters[name] = value;
        }

        return rest.Length == 0 ? new RelayTicket(id, expiresAt, new CallContext(callSid, from, to, useCaseId, parameters, resume)) : null;
    }

    private static bool TryRead(ref ReadOnlySpan<byte> data, out string value)
    {
        value = string.Empty;
        if (data.Length < 2)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(data);
        if (data.Length < 2 + length)
        {
            return false;
        }

        value = Encoding.UTF8.GetString(data.Slice(2, length));
        data = data[(2 + length)..];
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "No Relay:TicketSecret and no Twilio:AuthToken: relay tickets use a key of this process only (development)")]
        public static partial void EphemeralKey(ILogger logger);
    }
}
