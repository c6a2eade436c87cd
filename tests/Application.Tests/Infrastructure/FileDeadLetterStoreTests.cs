using Microsoft.Extensions.Options;
using VoiceAgent.Infrastructure.Persistence;

namespace VoiceAgent.Application.Tests.Infrastructure;

/// <summary>Dead letters on disk: kept one a line, read back, and removed only once replayed.</summary>
public sealed class FileDeadLetterStoreTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "voiceagent-tests", Guid.NewGuid().ToString("N"), "dead-letters.jsonl");

    [Fact]
    public async Task Letters_are_kept_one_a_line_and_only_the_replayed_ones_are_removed()
    {
        using var store = new FileDeadLetterStore(Options.Create(new StoreOptions { DeadLetterPath = _path }));
        await store.AddAsync("""{"callSid":"CA1","entry":"toolCall"}""", default);
        await store.AddAsync("{\"callSid\":\"CA2\",\n\"entry\":\"messagesSaved\"}", default);
        await store.AddAsync("""{"callSid":"CA3","entry":"callChanged"}""", default);

        var letters = await store.ReadAllAsync(default);
        Assert.Equal(3, letters.Count);
        Assert.Equal(3, (await File.ReadAllLinesAsync(_path)).Length);

        await store.RemoveAsync([letters[0], letters[2]], default);
        await store.AddAsync("""{"callSid":"CA4","entry":"toolCall"}""", default);

        var left = await store.ReadAllAsync(default);
        Assert.Equal(2, left.Count);
        Assert.Contains("CA2", left[0], StringComparison.Ordinal);
        Assert.Contains("CA4", left[1], StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(Path.GetDirectoryName(_path)))
        {
            Directory.Delete(Path.GetDirectoryName(_path)!, recursive: true);
        }
    }
}
