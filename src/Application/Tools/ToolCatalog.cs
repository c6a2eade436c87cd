using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tools;

/// <summary>The registered tool handlers, and which of them a use case gets.</summary>
public interface IToolCatalog
{
    /// <summary>Specs of the use case's tools that have a handler; names without one are logged and left out.</summary>
    IReadOnlyList<ToolSpec> SpecsFor(UseCase useCase);

    bool TryGet(string name, out ITool tool);
}

internal sealed partial class ToolCatalog : IToolCatalog
{
    private readonly Dictionary<string, ITool> _tools = new(StringComparer.Ordinal);
    private readonly ILogger<ToolCatalog> _logger;

    public ToolCatalog(IEnumerable<ITool> tools, ILogger<ToolCatalog> logger)
    {
        _logger = logger;
        foreach (var tool in tools)
        {
            if (!_tools.TryAdd(tool.Spec.Name, tool))
            {
                throw new InvalidOperationException($"Two tool handlers are registered as '{tool.Spec.Name}'.");
            }
        }
    }

    public IReadOnlyList<ToolSpec> SpecsFor(UseCase useCase)
    {
        ArgumentNullException.ThrowIfNull(useCase);
        var specs = new List<ToolSpec>(useCase.ToolNames.Count);
        foreach (var name in useCase.ToolNames)
        {
            if (_tools.TryGetValue(name, out var tool))
            {
                specs.Add(tool.Spec);
            }
            else
            {
                Log.NoHandler(_logger, useCase.Id, name);
            }
        }

        return specs;
    }

    public bool TryGet(string name, out ITool tool) => _tools.TryGetValue(name, out tool!);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4010, Level = LogLevel.Error, Message = "Use case {UseCaseId} lists tool {Tool}, but no handler is registered; it is not offered to the model")]
        public static partial void NoHandler(ILogger logger, string useCaseId, string tool);
    }
}
