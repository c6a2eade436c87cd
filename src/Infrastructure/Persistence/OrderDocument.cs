using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Orders;

namespace VoiceAgent.Infrastructure.Persistence;

/// <summary>
/// An order as stored: the domain's <see cref="Order"/> itself as a JSON document (camelCase, enums as strings, no
/// nulls, no computed totals), read back through its constructor, so a stored order is checked as a placed one is.
/// There is no second order type to keep in step with the domain's.
/// </summary>
internal static class OrderDocument
{
    private static readonly JsonTypeInfo<Order> Info = (JsonTypeInfo<Order>)new JsonSerializerOptions(OrderJsonContext.Default.Options)
    {
        TypeInfoResolver = OrderJsonContext.Default.WithAddedModifier(static type =>
        {
            // Totals are computed from the lines, never stored (the document predates them and stays as it was).
            if (type.Type == typeof(Order) || type.Type == typeof(OrderLine))
            {
                var total = type.Properties.FirstOrDefault(p => p.Name == "total");
                if (total is not null)
                {
                    type.Properties.Remove(total);
                }
            }
        }),
    }.GetTypeInfo(typeof(Order));

    public static string ToJson(Order order) => JsonSerializer.Serialize(order, Info);

    public static Order FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize(json, Info) ?? throw new StoredDataException($"{source}: the order document is empty.");
        }
        catch (JsonException ex)
        {
            throw new StoredDataException($"{source}: the order document is not valid ({ex.Message}).", ex);
        }
        catch (DomainException ex)
        {
            throw new StoredDataException($"{source}: {ex.Message}", ex);
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(Order))]
internal sealed partial class OrderJsonContext : JsonSerializerContext;
