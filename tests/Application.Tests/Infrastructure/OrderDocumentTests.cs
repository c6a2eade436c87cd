using VoiceAgent.Application.Abstractions;
using VoiceAgent.Domain.Orders;
using VoiceAgent.Infrastructure.Persistence;

namespace VoiceAgent.Application.Tests.Infrastructure;

/// <summary>The stored order document is the domain's Order itself, in the document format the store has always held.</summary>
public sealed class OrderDocumentTests
{
    private const string Stored =
        """{"orderId":"O-1","callSid":"CA00000000000000000000000000000001","fulfilment":"Delivery","lines":[{"item":"Pepperoni","quantity":2,"unitPrice":18.5,"size":"large","extras":["extra cheese"]},{"item":"Soda","quantity":1,"unitPrice":2,"extras":[]}],"createdAt":"2026-11-24T12:00:00+00:00","customerName":"Ana","deliveryAddress":"42 Elm Street","deliveryFee":3}""";

    [Fact]
    public void An_order_is_written_in_the_stored_format_without_computed_totals_and_read_back_whole()
    {
        var order = new Order(
            "O-1",
            "CA00000000000000000000000000000001",
            Fulfilment.Delivery,
            [new OrderLine("Pepperoni", 2, 18.5m, "large", ["extra cheese"]), new OrderLine("Soda", 1, 2m)],
            new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
            "Ana",
            "42 Elm Street",
            3m);

        Assert.Equal(Stored, OrderDocument.ToJson(order));
        var read = OrderDocument.FromJson(Stored, "test");
        Assert.Equal((order.OrderId, order.Fulfilment, order.Total, order.DeliveryAddress), (read.OrderId, read.Fulfilment, read.Total, read.DeliveryAddress));
        Assert.Equal(["extra cheese"], read.Lines[0].Extras);
    }

    [Fact]
    public void A_stored_order_the_domain_would_refuse_is_reported_as_bad_stored_data()
    {
        var noAddress = Stored.Replace("\"deliveryAddress\":\"42 Elm Street\",", string.Empty, StringComparison.Ordinal);

        var error = Assert.Throws<StoredDataException>(() => OrderDocument.FromJson(noAddress, "DynamoDB item ORDER#O-1"));
        Assert.Contains("needs a delivery address", error.Message, StringComparison.Ordinal);
    }
}
