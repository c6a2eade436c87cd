using System.Reflection;

namespace VoiceAgent.Integration.Tests;

/// <summary>
/// Dependencies point inward: Domain ← Application ← Infrastructure; business modules see only the Application and
/// the Domain; the Api composes, and is the only code that names a module.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly string Root = Repository.Root;
    private static readonly string[] Scanned = ["src", "tests", "tools"];

    /// <summary>Each assembly and exactly the VoiceAgent assemblies it references; a row per module, found by folder.</summary>
    public static TheoryData<string, string[]> Layers()
    {
        var data = new TheoryData<string, string[]>
        {
            { "VoiceAgent.Domain", [] },
            { "VoiceAgent.Application", ["VoiceAgent.Domain"] },
            { "VoiceAgent.Infrastructure", ["VoiceAgent.Application", "VoiceAgent.Domain"] },
            { "VoiceAgent.Api", ["VoiceAgent.Application", "VoiceAgent.Domain", "VoiceAgent.Infrastructure", .. Modules().Select(m => "VoiceAgent.Modules." + m)] },
        };
        foreach (var module in Modules())
        {
            data.Add("VoiceAgent.Modules." + module, ["VoiceAgent.Application", "VoiceAgent.Domain"]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void Each_assembly_references_exactly_the_layers_it_may(string assembly, string[] expected)
    {
        // Exact: a forbidden reference fails the row, and so does a missing one (the host not registering a module).
        Assert.Equal(expected.Order(StringComparer.Ordinal), VoiceAgentReferences(assembly));
    }

    [Fact]
    public void A_row_fails_when_an_assembly_reaches_outward()
    {
        // The check itself: Infrastructure referencing the Application is outward for a row that allows the Domain only.
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Assert.Equal(["VoiceAgent.Domain"], VoiceAgentReferences("VoiceAgent.Infrastructure")));
    }

    private static List<string> VoiceAgentReferences(string assembly) =>
        Assembly.Load(assembly).GetReferencedAssemblies()
            .Select(r => r.Name!)
            .Where(n => n.StartsWith("VoiceAgent.", StringComparison.Ordinal))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();

    private static List<string> Modules() =>
        [.. Directory.GetDirectories(Path.Combine(Root, "src", "Modules")).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal)];

    [Fact]
    public void The_domain_depends_on_nothing_but_the_runtime()
    {
        var references = Assembly.Load("VoiceAgent.Domain").GetReferencedAssemblies().Select(r => r.Name!).ToList();
        Assert.All(references, name => Assert.True(name.StartsWith("System", StringComparison.Ordinal) || name == "netstandard", name));
    }

    [Fact]
    public void No_code_or_test_but_a_module_itself_and_the_hosts_one_registration_line_names_a_module()
    {
        var modules = Modules();
        Assert.NotEmpty(modules);
        var program = Path.Combine(Root, "src", "Api", "Program.cs");
        foreach (var file in Scanned.SelectMany(d => Directory.EnumerateFiles(Path.Combine(Root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var inModule = modules.FirstOrDefault(m => file.StartsWith(Path.Combine(Root, "src", "Modules", m!) + Path.DirectorySeparatorChar, StringComparison.Ordinal));
            var text = File.ReadAllText(file);
            foreach (var module in modules.Where(m => m != inModule))
            {
                var mentions = text.Split('\n').Count(line => line.Contains($"VoiceAgent.Modules.{module}", StringComparison.Ordinal) || line.Contains($"{module}Module", StringComparison.Ordinal));
                var allowedMentions = file == program ? 1 : 0; // its AddDomainModule line
                Assert.True(mentions <= allowedMentions, $"{Path.GetRelativePath(Root, file)} names the {module} module");
            }
        }

        foreach (var module in modules)
        {
            Assert.Contains($"AddDomainModule<VoiceAgent.Modules.{module}.{module}Module>()", File.ReadAllText(program), StringComparison.Ordinal);
        }
    }
}
