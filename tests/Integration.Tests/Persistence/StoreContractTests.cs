using Amazon.DynamoDBv2;
using Microsoft.Extensions.Logging.Abstractions;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Infrastructure.Persistence.DynamoDb;
using VoiceAgent.Infrastructure.Persistence.Embedded;
using VoiceAgent.Infrastructure.Seeding;

namespace VoiceAgent.Integration.Tests.Persistence;

public sealed class EmbeddedStoreContractTests : RepositoryContract
{
    private readonly EmbeddedCallRepository _calls = new();
    private readonly EmbeddedUseCaseRepository _useCases = new();
    private readonly EmbeddedCallerProfileRepository _profiles = new();
    private readonly EmbeddedOrderRepository _orders = new(TimeProvider.System);
    private readonly EmbeddedRecordStore _records = new(TimeProvider.System);

    public EmbeddedStoreContractTests()
    {
        foreach (var useCase in SeedLoader.LoadUseCases(SeedPath))
        {
            _useCases.Put(useCase);
        }

        foreach (var profile in SeedLoader.LoadCallerProfiles(SeedPath))
        {
            _profiles.Put(profile);
        }
    }

    protected override ICallRepository Calls => _calls;

    protected override IUseCaseRepository UseCases => _useCases;

    protected override ICallerProfileRepository Profiles => _profiles;

    protected override IOrderRepository Orders => _orders;

    protected override IRecordStore Records => _records;
}

/// <summary>
/// The same contract on the benchmarks' in-memory DynamoDB fake (tools/FakeDynamoDb), so what the benchmarks measure
/// is the service doing what it does against DynamoDB.
/// </summary>
public sealed class FakeDynamoDbStoreContractTests : RepositoryContract, IAsyncLifetime, IDisposable
{
    private VoiceAgent.FakeDynamoDb.FakeDynamoDbServer _server = null!;
    private DynamoDbTestStore _store = null!;

    protected override ICallRepository Calls => _store.Calls;

    protected override IUseCaseRepository UseCases => _store.UseCases;

    protected override ICallerProfileRepository Profiles => _store.Profiles;

    protected override IOrderRepository Orders => _store.Orders;

    protected override IRecordStore Records => _store.Records;

    protected override bool SharesWrites => true;

    public async Task InitializeAsync()
    {
        _server = await VoiceAgent.FakeDynamoDb.FakeDynamoDbServer.StartAsync(new Uri("http://127.0.0.1:0"), TimeSpan.Zero);
        _store = new DynamoDbTestStore(
            new AmazonDynamoDBClient(MotoServer.Credentials, new AmazonDynamoDBConfig { ServiceURL = _server.Url.ToString(), AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 }),
            pageSize: 25);
        await _store.SeedAsync(SeedPath);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _store.Dispose();
}

/// <summary>The same contract on a real DynamoDB-compatible server, in a fresh table per test class.</summary>
public sealed class DynamoDbStoreContractTests : RepositoryContract, IClassFixture<MotoServer>, IAsyncLifetime, IDisposable
{
    private readonly DynamoDbTestStore _store;

    public DynamoDbStoreContractTests(MotoServer moto) => _store = new DynamoDbTestStore(moto, pageSize: 25);

    protected override ICallRepository Calls => _store.Calls;

    protected override IUseCaseRepository UseCases => _store.UseCases;

    protected override ICallerProfileRepository Profiles => _store.Profiles;

    protected override IOrderRepository Orders => _store.Orders;

    protected override IRecordStore Records => _store.Records;

    protected override bool AtomicConditionalWrites => false;

    protected override bool SharesWrites => true;

    public Task InitializeAsync() => _store.SeedAsync(SeedPath);

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _store.Dispose();
}

/// <summary>DynamoDB repositories on a fresh table of a moto server.</summary>
internal sealed class DynamoDbTestStore : IDisposable
{
    public DynamoDbTestStore(MotoServer moto, int pageSize = 200)
        : this(moto.CreateClient(), pageSize)
    {
    }

    public DynamoDbTestStore(AmazonDynamoDBClient client, int pageSize = 200)
    {
        Client = client;
        Options = new DynamoDbOptions { TableName = "voiceagent-" + Guid.NewGuid().ToString("N")[..12], PageSize = pageSize };
        Lean = DynamoDbLeanClient.For(Client, () => MotoServer.Credentials, TimeProvider.System, TimeSpan.FromSeconds(5));
        Calls = new DynamoDbCallRepository(Client, Options, TimeProvider.System, Lean);
        UseCases = new DynamoDbUseCaseRepository(Client, Options, Lean);
        Profiles = new DynamoDbCallerProfileRepository(Client, Options, Lean);
        Orders = new DynamoDbOrderRepository(Client, Options, Calls, TimeProvider.System);
        Records = new DynamoDbRecordStore(Client, Options, Calls, TimeProvider.System);
        Seeder = new DynamoDbSeeder(Client, Options, UseCases, Profiles, NullLogger<DynamoDbSeeder>.Instance);
    }

    public AmazonDynamoDBClient Client { get; }

    /// <summary>The repositories' own client for the requests of every call and turn (as production has it).</summary>
    public DynamoDbLeanClient Lean { get; }

    public DynamoDbOptions Options { get; }

    public DynamoDbCallRepository Calls { get; }

    public DynamoDbUseCaseRepository UseCases { get; }

    public DynamoDbCallerProfileRepository Profiles { get; }

    public DynamoDbOrderRepository Orders { get; }

    public DynamoDbRecordStore Records { get; }

    public DynamoDbSeeder Seeder { get; }

    public Task SeedAsync(string seedPath) => Seeder.SeedAsync(seedPath, CancellationToken.None);

    public void Dispose()
    {
        Lean.Dispose();
        Client.Dispose();
    }
}
