using VoiceAgent.Domain.Common;

namespace VoiceAgent.Domain.Orders;

public enum Fulfilment
{
    Pickup,
    Delivery,
}

/// <summary>One line of an order: an item, its size and extras, how many, at what unit price.</summary>
public sealed record OrderLine
{
    public OrderLine(string item, int quantity, decimal unitPrice, string? size = null, IReadOnlyList<string>? extras = null)
    {
        if (string.IsNullOrWhiteSpace(item))
        {
            throw new DomainException("An order line needs an item.");
        }

        if (quantity is < 1 or > 100)
        {
            throw new DomainException($"Quantity of '{item}' must be between 1 and 100.");
        }

        if (unitPrice < 0)
        {
            throw new DomainException($"Price of '{item}' cannot be negative.");
        }

        Item = item;
        Quantity = quantity;
        UnitPrice = unitPrice;
        Size = size;
        Extras = extras ?? [];
    }

    public string Item { get; }

    public int Quantity { get; }

    public decimal UnitPrice { get; }

    public string? Size { get; }

    public IReadOnlyList<string> Extras { get; }

    /// <summary>When the store lets the order go (the use case's record retention); null keeps it.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>Whether the order's retention has run out at <paramref name="now"/> (the store may not have removed it yet).</summary>
    public bool IsExpired(DateTimeOffset now) => ExpiresAt <= now;

    public decimal Total => UnitPrice * Quantity;
}

/// <summary>
/// An order placed during a call (the pizza restaurant's place-order tool). A business record: kept, or kept until
/// <see cref="ExpiresAt"/> when the use case sets a retention.
/// </summary>
public sealed record Order
{
    public Order(
        string orderId,
        string callSid,
        Fulfilment fulfilment,
        IReadOnlyList<OrderLine> lines,
        DateTimeOffset createdAt,
        string? customerName = null,
        string? deliveryAddress = null,
        decimal deliveryFee = 0,
        DateTimeOffset? expiresAt = null)
    {
        if (string.IsNullOrWhiteSpace(orderId) || string.IsNullOrWhiteSpace(callSid))
        {
            throw new DomainException("An order needs an id and the call it was placed on.");
        }

        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            throw new DomainException($"Order {orderId} has no lines.");
        }

        if (fulfilment == Fulfilment.Delivery && string.IsNullOrWhiteSpace(deliveryAddress))
        {
            throw new DomainException($"Delivery order {orderId} needs a delivery address.");
        }

        if (deliveryFee < 0)
        {
            throw new DomainException($"Order {orderId}: the delivery fee cannot be negative.");
        }

        OrderId = orderId;
        CallSid = callSid;
        Fulfilment = fulfilment;
        Lines = lines;
        CreatedAt = createdAt;
        CustomerName = customerName;
        DeliveryAddress = fulfilment == Fulfilment.Delivery ? deliveryAddress : null;
        DeliveryFee = fulfilment == Fulfilment.Delivery ? deliveryFee : 0;
        if (expiresAt <= createdAt)
        {
            throw new DomainException($"Order {orderId} cannot expire before it was placed.");
        }

        ExpiresAt = expiresAt;
    }

    public string OrderId { get; }

    public string CallSid { get; }

    public Fulfilment Fulfilment { get; }

    public IReadOnlyList<OrderLine> Lines { get; }

    public DateTimeOffset CreatedAt { get; }

    public string? CustomerName { get; }

    public string? DeliveryAddress { get; }

    public decimal DeliveryFee { get; }

    /// <summary>When the store lets the order go (the use case's record retention); null keeps it.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>Whether the order's retention has run out at <paramref name="now"/> (the store may not have removed it yet).</summary>
    public bool IsExpired(DateTimeOffset now) => ExpiresAt <= now;

    public decimal Total => Lines.Sum(l => l.Total) + DeliveryFee;
}
