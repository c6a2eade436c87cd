using System.Diagnostics;

namespace VoiceAgent.Integration.Tests;

/// <summary>Runs alone: it builds a whole copy of the repository, which would slow every other test down.</summary>
[CollectionDefinition(nameof(ModuleRemovalTests), DisableParallelization = true)]
public sealed class ModuleRemovalRun;

/// <summary>
/// A business module is its folder and its registration line: a copy of the repository without one module (the folder
/// deleted, the line removed, nothing else touched) still builds, and its tests pass. The module removed is the first
/// that does not hold the default use case (the app's configured fallback, a setting of its own).
/// </summary>
[Collection(nameof(ModuleRemovalTests))]
public sealed class ModuleRemovalTests
{
    private static readonly string[] Copied = ["src", "tests", "tools", "seed"];

    [Fact]
    public async Task Removing_a_module_folder_and_its_line_leaves_the_rest_building_and_green()
    {
        var root = Repository.Root;
        using var settings = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(root, "src", "Api", "appsettings.json")));
        var defaultUseCase = settings.RootElement.GetProperty("Conversation").GetProperty("DefaultUseCaseId").GetString();
        var module = Directory.GetDirectories(Path.Combine(root, "src", "Modules"))
            .Select(d => Path.GetFileName(d)!)
            .Order(StringComparer.Ordinal)
            .First(m => !File.Exists(Path.Combine(root, "src", "Modules", m, "seed", "usecases", defaultUseCase + ".json")));
        var copy = Directory.CreateTempSubdirectory("voiceagent-without-a-module-");
        try
        {
            foreach (var file in Directory.EnumerateFiles(root))
            {
                File.Copy(file, Path.Combine(copy.FullName, Path.GetFileName(file)));
            }

            foreach (var directory in Copied)
            {
                CopyTree(Path.Combine(root, directory), Path.Combine(copy.FullName, directory));
            }

            // The slnx lists the deploy projects; this check builds the test projects, which need none of them.
            Directory.Delete(Path.Combine(copy.FullName, "src", "Modules", module), recursive: true);
            var program = Path.Combine(copy.FullName, "src", "Api", "Program.cs");
            var lines = await File.ReadAllLinesAsync(program);
            var kept = lines.Where(l => !l.Contains($"AddDomainModule<VoiceAgent.Modules.{module}.", StringComparison.Ordinal)).ToArray();
            Assert.Equal(lines.Length - 1, kept.Length);
            await File.WriteAllLinesAsync(program, kept);

            await RunAsync(copy.FullName, "build", "tests/Integration.Tests", "-v", "q", "-nologo");
            await RunAsync(copy.FullName, "build", "tests/Application.Tests", "-v", "q", "-nologo");
            await RunAsync(copy.FullName, "test", "tests/Application.Tests", "--no-build", "-v", "q", "-nologo");
            await RunAsync(
                copy.FullName, "test", "tests/Integration.Tests", "--no-build", "-v", "q", "-nologo",
                "--filter", "FullyQualifiedName~ArchitectureTests|FullyQualifiedName~RoutingTests|FullyQualifiedName~VoiceAgent.Modules|FullyQualifiedName~RelayTests");
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.EnumerateDirectories(from))
        {
            if (Path.GetFileName(directory) is not ("bin" or "obj" or "TestResults" or "node_modules"))
            {
                CopyTree(directory, Path.Combine(to, Path.GetFileName(directory)));
            }
        }
    }

    private static async Task RunAsync(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The outer test run's MSBuild settings must not leak into the copy's build.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{await output}\n{await errors}");
    }
}
