namespace VoiceAgent.Domain.Common;

/// <summary>E.164 phone number helpers. Twilio sends caller ids in E.164 for PSTN calls.</summary>
public static class PhoneNumbers
{
    /// <summary>True when <paramref name="value"/> is a "+" followed by 2 to 15 digits, the first not zero.</summary>
    public static bool IsE164(string? value)
    {
        if (value is null || value.Length < 3 || value.Length > 16 || value[0] != '+' || value[1] == '0')
        {
            return false;
        }

        for (var i = 1; i < value.Length; i++)
        {
            if (!char.IsAsciiDigit(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Masks all but the last four digits, for logs: +1555****0001 → "+*******0001".</summary>
    public static string Mask(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "(none)";
        }

        if (value.Length <= 4)
        {
            return new string('*', value.Length);
        }

        return string.Create(value.Length, value, static (span, source) =>
        {
            var keep = source.Length - 4;
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = i == 0 && source[0] == '+' ? '+' : i < keep ? '*' : source[i];
            }
        });
    }
}
