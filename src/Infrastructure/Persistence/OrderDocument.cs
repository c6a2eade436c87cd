using System.Text.Json;
using System.Text.Json.Serialization;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Orders;

namespace VoiceAgent.Infrastructure.Persistence;

/// <summary>An order as stored (JSON document), shared by the stores.</summary>
internal sealed record OrderDocument(
    string OrderId,
    string CallSid,
    Fulfilment Fulfilment,
    List<OrderLineDocument> Lines,
    DateTimeOffset CreatedAt,
    string? CustomerName = null,
    string? DeliveryAddress = null,
    decimal DeliveryFee = 0)
{
    public static string ToJson(Order order) => JsonSerializer.Serialize(
        new OrderDocument(
            order.OrderId,
            order.CallSid,
            order.Fulfilment,
            order.Lines.Select(l => new OrderLineDocument(l.Item, l.Quantity, l.UnitPrice, l.Size, [.. l.Extras])).ToList(),
            order.CreatedAt,
            order.CustomerName,
            order.DeliveryAddress,
            order.DeliveryFee),
        OrderJsonContext.Default.OrderDocument);

    public static Order FromJson(string json, string source)
    {
        try
        {
            var d = JsonSerializer.Deserialize(json, OrderJsonContext.Default.OrderDocument)
                ?? throw new StoredDataException($"{source}: the order document is empty.");
            var lines = (d.Lines ?? throw new StoredDataException($"{source}: the order has no 'lines'."))
                .Select(l => new OrderLine(l.Item, l.Quantity, l.UnitPrice, l.Size, l.Extras))
                .ToList();
            return new Order(d.OrderId, d.CallSid, d.Fulfilment, lines, d.CreatedAt, d.CustomerName, d.DeliveryAddress, d.DeliveryFee);
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

internal sealed record OrderLineDocument(string Item, int Quantity, decimal UnitPrice, string? Size = null, List<string>? Extras = null);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(OrderDocument))]
internal sealed partial class OrderJsonContext : JsonSerializerContext;
