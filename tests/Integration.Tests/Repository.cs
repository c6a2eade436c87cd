namespace VoiceAgent.Integration.Tests;

/// <summary>The repository these tests run from: its root is the folder above the test binaries that holds VoiceAgent.slnx.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VoiceAgent.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (VoiceAgent.slnx) was not found above the test binaries.");
    }
}
