using System.Reflection;

namespace VoiceAgent.Integration.Tests;

/// <summary>
/// Dependencies point inward: Domain ← Application ← Infrastructure; business modules see only the Application and
/// the Domain; the Api composes, and is the only code that names a module.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly string Root = FindRoot();

    [Theory]
    [InlineData("VoiceAgent.Domain", new string[0])]
    [InlineData("VoiceAgent.Application", new[] { "VoiceAgent.Domain" })]
    [InlineData("VoiceAgent.Infrastructure", new[] { "VoiceAgent.Application", "VoiceAgent.Domain" })]
    [InlineData("VoiceAgent.Modules.Pizza", new[] { "VoiceAgent.Application", "VoiceAgent.Domain" })]
    [InlineData("VoiceAgent.Modules.Leasing", new[] { "VoiceAgent.Application", "VoiceAgent.Domain" })]
    [InlineData("VoiceAgent.Api", new[] { "VoiceAgent.Infrastructure", "VoiceAgent.Application", "VoiceAgent.Domain", "VoiceAgent.Modules.Pizza", "VoiceAgent.Modules.Leasing" })]
    public void Each_assembly_references_only_what_it_may(string assembly, string[] allowed)
    {
        var references = Assembly.Load(assembly).GetReferencedAssemblies()
            .Select(r => r.Name!)
            .Where(n => n.StartsWith("VoiceAgent.", StringComparison.Ordinal))
            .ToHashSet();

        Assert.Subset(allowed.ToHashSet(), references);
    }

    [Fact]
    public void The_domain_depends_on_nothing_but_the_runtime()
    {
        var references = Assembly.Load("VoiceAgent.Domain").GetReferencedAssemblies().Select(r => r.Name!).ToList();
        Assert.All(references, name => Assert.True(name.StartsWith("System", StringComparison.Ordinal) || name == "netstandard", name));
    }

    [Fact]
    public void No_code_but_a_module_itself_and_the_hosts_one_registration_line_names_a_module()
    {
        var modules = Directory.GetDirectories(Path.Combine(Root, "src", "Modules")).Select(Path.GetFileName).ToList();
        Assert.Equal(["Leasing", "Pizza"], modules.Order(StringComparer.Ordinal));
        var program = Path.Combine(Root, "src", "Api", "Program.cs");
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var inModule = modules.FirstOrDefault(m => file.StartsWith(Path.Combine(Root, "src", "Modules", m!) + Path.DirectorySeparatorChar, StringComparison.Ordinal));
            var text = File.ReadAllText(file);
            foreach (var module in modules.Where(m => m != inModule))
            {
                var mentions = text.Split('\n').Count(line => line.Contains($"VoiceAgent.Modules.{module}", StringComparison.Ordinal) || line.Contains($"{module}Module", StringComparison.Ordinal));
                var allowedMentions = file == program ? 2 : 0; // its using directive and its AddDomainModule line
                Assert.True(mentions <= allowedMentions, $"{Path.GetRelativePath(Root, file)} names the {module} module");
            }
        }

        Assert.Contains("AddDomainModule<PizzaModule>()", File.ReadAllText(program), StringComparison.Ordinal);
        Assert.Contains("AddDomainModule<LeasingModule>()", File.ReadAllText(program), StringComparison.Ordinal);
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "VoiceAgent.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root (VoiceAgent.slnx) was not found.");
    }
}
