using Microsoft.Extensions.Time.Testing;
using VoiceAgent.Application.Common;

namespace VoiceAgent.Application.Tests;

public sealed class ExpiringKeysTests
{
    [Fact]
    public void A_key_is_held_until_removed_or_swept_after_its_expiry()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        var keys = new ExpiringKeys(time);
        var expiry = time.GetUtcNow().AddMinutes(2);

        Assert.True(keys.TryAdd("t1", expiry));
        Assert.False(keys.TryAdd("t1", expiry));
        keys.Remove("t1");
        Assert.True(keys.TryAdd("t1", expiry));

        // Past its expiry it is still held until a sweep (every 1,024 adds) forgets it.
        time.Advance(TimeSpan.FromMinutes(3));
        Assert.False(keys.TryAdd("t1", expiry));
        for (var i = 0; i < 1_024; i++)
        {
            keys.TryAdd("other-" + i, time.GetUtcNow().AddMinutes(2));
        }

        Assert.True(keys.TryAdd("t1", time.GetUtcNow().AddMinutes(2)));
        Assert.False(keys.TryAdd("other-5", time.GetUtcNow().AddMinutes(2)));
    }
}
