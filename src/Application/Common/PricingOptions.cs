using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Application.Common;

/// <summary>
/// What model tokens cost, per model or inference profile, in US dollars per million tokens. Bound from the
/// "Pricing" section as a list (model ids hold ':', which configuration keys cannot): Pricing:Models:0:Profile=
/// amazon.nova-lite-v1:0, Pricing:Models:0:InputPerMillion=0.06, … A profile is looked up as named, then without its
/// cross-region prefix (us., eu., apac., global.); an unpriced profile costs nothing in the figures.
/// </summary>
public sealed class PricingOptions
{
    public const string SectionName = "Pricing";

    public List<ModelPrice> Models { get; set; } = [];

    /// <summary>The cost of <paramref name="usage"/> on <paramref name="profile"/>; null when the profile has no price.</summary>
    public decimal? Cost(string? profile, TokenUsage usage)
    {
        var price = profile is null ? null : Find(profile) ?? Find(WithoutRegionPrefix(profile));
        if (price is null)
        {
            return null;
        }

        return ((usage.Input * price.InputPerMillion) + (usage.Output * price.OutputPerMillion)
            + (usage.CacheRead * price.CacheReadPerMillion) + (usage.CacheWrite * price.CacheWritePerMillion)) / 1_000_000m;
    }

    private ModelPrice? Find(string profile) => Models.Find(m => string.Equals(m.Profile, profile, StringComparison.OrdinalIgnoreCase));

    /// <summary>"us.amazon.nova-lite-v1:0" → "amazon.nova-lite-v1:0": a cross-region profile priced as its model.</summary>
    private static string WithoutRegionPrefix(string profile)
    {
        var dot = profile.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && profile.IndexOf('.', dot + 1) > 0 ? profile[(dot + 1)..] : profile;
    }
}

/// <summary>US dollars per million tokens of each kind.</summary>
public sealed class ModelPrice
{
    /// <summary>The model or inference profile id, as use cases name it.</summary>
    public string? Profile { get; set; }

    public decimal InputPerMillion { get; set; }

    public decimal OutputPerMillion { get; set; }

    public decimal CacheReadPerMillion { get; set; }

    public decimal CacheWritePerMillion { get; set; }
}
