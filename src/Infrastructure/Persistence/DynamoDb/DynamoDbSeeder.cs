using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Logging;
using VoiceAgent.Infrastructure.Seeding;
using static VoiceAgent.Infrastructure.Persistence.DynamoDb.TableDesign;

namespace VoiceAgent.Infrastructure.Persistence.DynamoDb;

/// <summary>Creates the table when missing (keys, GSI, TTL) and loads the seed use cases and caller profiles.</summary>
public sealed partial class DynamoDbSeeder
{
    private readonly IAmazonDynamoDB _client;
    private readonly DynamoDbOptions _options;
    private readonly DynamoDbUseCaseRepository _useCases;
    private readonly DynamoDbCallerProfileRepository _profiles;
    private readonly ILogger<DynamoDbSeeder> _logger;

    internal DynamoDbSeeder(
        IAmazonDynamoDB client,
        DynamoDbOptions options,
        DynamoDbUseCaseRepository useCases,
        DynamoDbCallerProfileRepository profiles,
        ILogger<DynamoDbSeeder> logger)
    {
        _client = client;
        _options = options;
        _useCases = useCases;
        _profiles = profiles;
        _logger = logger;
    }

    public async Task SeedAsync(string seedDirectory, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var useCases = SeedLoader.LoadUseCaseDocuments(seedDirectory);
        foreach (var (useCase, json) in useCases)
        {
            await _useCases.PutAsync(useCase.Id, json, cancellationToken).ConfigureAwait(false);
        }

        var profiles = SeedLoader.LoadCallerProfileDocuments(seedDirectory);
        foreach (var (profile, json) in profiles)
        {
            await _profiles.PutAsync(profile.PhoneNumber, json, cancellationToken).ConfigureAwait(false);
        }

        Log.Seeded(_logger, _options.TableName, useCases.Count, profiles.Count);
    }

    public async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (await TableStatusAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            await _client.CreateTableAsync(
                new CreateTableRequest
                {
                    TableName = _options.TableName,
                    BillingMode = BillingMode.PAY_PER_REQUEST,
                    AttributeDefinitions =
                    [
                        new AttributeDefinition(Pk, ScalarAttributeType.S),
                        new AttributeDefinition(Sk, ScalarAttributeType.S),
                        new AttributeDefinition(Gsi1Pk, ScalarAttributeType.S),
                        new AttributeDefinition(Gsi1Sk, ScalarAttributeType.S),
                    ],
                    KeySchema = [new KeySchemaElement(Pk, KeyType.HASH), new KeySchemaElement(Sk, KeyType.RANGE)],
                    GlobalSecondaryIndexes =
                    [
                        new GlobalSecondaryIndex
                        {
                            IndexName = Gsi1,
                            KeySchema = [new KeySchemaElement(Gsi1Pk, KeyType.HASH), new KeySchemaElement(Gsi1Sk, KeyType.RANGE)],
                            Projection = new Projection { ProjectionType = ProjectionType.ALL },
                        },
                    ],
                },
                cancellationToken).ConfigureAwait(false);
            Log.Created(_logger, _options.TableName);
        }

        for (var attempt = 0; attempt < 120; attempt++)
        {
            if (await TableStatusAsync(cancellationToken).ConfigureAwait(false) == TableStatus.ACTIVE)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }

        await _client.UpdateTimeToLiveAsync(
            new UpdateTimeToLiveRequest
            {
                TableName = _options.TableName,
                TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = ExpiresAt, Enabled = true },
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<TableStatus?> TableStatusAsync(CancellationToken cancellationToken)
    {
        try
        {
            var table = await _client.DescribeTableAsync(_options.TableName, cancellationToken).ConfigureAwait(false);
            return table.Table.TableStatus;
        }
        catch (ResourceNotFoundException)
        {
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5201, Level = LogLevel.Information, Message = "Created DynamoDB table {Table}")]
        public static partial void Created(ILogger logger, string table);

        [LoggerMessage(EventId = 5202, Level = LogLevel.Information, Message = "Seeded {Table} with {UseCases} use cases and {Profiles} caller profiles")]
        public static partial void Seeded(ILogger logger, string table, int useCases, int profiles);
    }
}
