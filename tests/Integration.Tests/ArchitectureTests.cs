using System.Reflection;

namespace VoiceAgent.Integration.Tests;

/// <summary>Dependencies point inward: Domain ← Application ← Infrastructure; Api composes.</summary>
public sealed class ArchitectureTests
{
    [Theory]
    [InlineData("VoiceAgent.Domain", new string[0])]
    [InlineData("VoiceAgent.Application", new[] { "VoiceAgent.Domain" })]
    [InlineData("VoiceAgent.Infrastructure", new[] { "VoiceAgent.Application", "VoiceAgent.Domain" })]
    [InlineData("VoiceAgent.Api", new[] { "VoiceAgent.Infrastructure", "VoiceAgent.Application", "VoiceAgent.Domain" })]
    public void Each_layer_references_only_the_layers_inside_it(string assembly, string[] allowed)
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
}
