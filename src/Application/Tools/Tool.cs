using System.ComponentModel;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tools;

/// <summary>
/// A tool is one class: a name, a description, a typed argument record and a handler. The input schema the model
/// sees is generated from <typeparamref name="TArgs"/> (snake_case names, enums as strings, nullable = optional,
/// [Description] on properties becomes the property's description). Bad arguments from the model become an error
/// result that says what was wrong, never an exception.
/// </summary>
public abstract class Tool<TArgs> : ITool
    where TArgs : class
{
    /// <summary>How tool arguments are read and their schema generated.</summary>
    public static readonly JsonSerializerOptions ArgumentOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };

    private ToolSpec? _spec;

    public abstract string Name { get; }

    public abstract string Description { get; }

    public virtual bool IsIdempotent => true;

    public ToolSpec Spec => _spec ??= new ToolSpec(Name, Description, GenerateSchema());

    public async ValueTask<ToolOutcome> InvokeAsync(ActiveCall call, JsonElement input, CancellationToken cancellationToken)
    {
        TArgs? args;
        try
        {
            args = input.Deserialize<TArgs>(ArgumentOptions);
        }
        catch (JsonException ex)
        {
            return ToolOutcome.Error($"Invalid arguments for {Name}: {ex.Message}");
        }

        if (args is null)
        {
            return ToolOutcome.Error($"Invalid arguments for {Name}: an object is required.");
        }

        return await RunAsync(call, args, cancellationToken).ConfigureAwait(false);
    }

    protected abstract ValueTask<ToolOutcome> RunAsync(ActiveCall call, TArgs args, CancellationToken cancellationToken);

    /// <summary>A success result carrying <paramref name="value"/> as JSON.</summary>
    protected static ToolOutcome Json<T>(T value) => new(JsonSerializer.Serialize(value, ArgumentOptions));

    private static string GenerateSchema()
    {
        var schema = JsonSchemaExporter.GetJsonSchemaAsNode(ArgumentOptions, typeof(TArgs), new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = static (context, node) =>
            {
                var description = context.PropertyInfo?.AttributeProvider?.GetCustomAttributes(typeof(DescriptionAttribute), inherit: true)
                    .OfType<DescriptionAttribute>().FirstOrDefault()?.Description
                    ?? (context.PropertyInfo is null ? context.TypeInfo.Type.GetCustomAttribute<DescriptionAttribute>()?.Description : null);
                if (description is not null && node is JsonObject obj)
                {
                    obj.Insert(0, "description", description);
                }

                return node;
            },
        });
        return schema.ToJsonString();
    }
}
