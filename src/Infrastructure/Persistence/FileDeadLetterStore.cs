using System.Text;
using Microsoft.Extensions.Options;
using VoiceAgent.Application.Abstractions;

namespace VoiceAgent.Infrastructure.Persistence;

/// <summary>
/// Dead letters as JSON lines in one file (Store:DeadLetterPath), appended and flushed one by one. On Fargate, put the
/// path on a mounted volume (EFS) to keep it across task replacements; <c>replay-dead-letters</c> writes them again.
/// The letters hold call data: the file is as sensitive as the table.
/// </summary>
internal sealed class FileDeadLetterStore(IOptions<StoreOptions> options) : IDeadLetterStore, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public string Path => options.Value.ResolveDeadLetterPath();

    public async Task AddAsync(string letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await File.AppendAllTextAsync(Path, OneLine(letter) + "\n", Encoding.UTF8, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (IOException) when (attempt < 10)
                {
                    // A replay in another process is rewriting the file: wait for it.
                    await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<string>> ReadAllAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return File.Exists(Path)
                ? (await File.ReadAllLinesAsync(Path, Encoding.UTF8, cancellationToken).ConfigureAwait(false)).Where(l => l.Length > 0).ToList()
                : [];
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task RemoveAsync(IReadOnlyCollection<string> letters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letters);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(Path))
            {
                return;
            }

            // Read and rewrite under an exclusive handle, so an append from the running service waits, not lost.
            var gone = new HashSet<string>(letters.Select(OneLine), StringComparer.Ordinal);
            await using var file = new FileStream(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            using var reader = new StreamReader(file, Encoding.UTF8, leaveOpen: true);
            var kept = new StringBuilder();
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length > 0 && !gone.Contains(line))
                {
                    kept.Append(line).Append('\n');
                }
            }

            file.SetLength(0);
            await file.WriteAsync(Encoding.UTF8.GetBytes(kept.ToString()), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    // JSON written by Utf8JsonWriter has no raw line breaks; this keeps one letter per line whatever it is given.
    private static string OneLine(string letter) => letter.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
