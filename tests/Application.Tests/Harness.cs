using Mediator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Relay.SessionStarted;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Tests;

/// <summary>The application layer wired as in production, with its ports faked.</summary>
internal sealed class Harness : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly CancellationTokenSource _session = new();

    public Harness(UseCase? useCase = null, params ITool[] tools)
        : this(null, useCase, tools)
    {
    }

    /// <summary>With what <paramref name="register"/> adds (a business module, for its tests beside it).</summary>
    public Harness(UseCase useCase, Action<IServiceCollection> register)
        : this(null, useCase, register, [])
    {
    }

    /// <summary>With <paramref name="settings"/> on top of the harness's configuration.</summary>
    public Harness(IDictionary<string, string?>? settings, UseCase? useCase = null, params ITool[] tools)
        : this(settings, useCase, null, tools)
    {
    }

    private Harness(IDictionary<string, string?>? settings, UseCase? useCase, Action<IServiceCollection>? register, ITool[] tools)
    {
        UseCase = useCase ?? PizzaUseCase();
        var useCases = Substitute.For<IUseCaseRepository>();
        useCases.GetAsync(UseCase.Id, Arg.Any<CancellationToken>()).Returns(UseCase);
        useCases.ListAsync(Arg.Any<CancellationToken>()).Returns(new UseCaseListing([UseCase], []));
        var profiles = Substitute.For<ICallerProfileRepository>();

        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Conversation:DefaultUseCaseId"] = UseCase.Id,
                ["Conversation:ToolTimeout"] = "00:00:02",
                ["Persistence:FirstRetryDelay"] = "00:00:00.010",
                ["Persistence:MaxRetryDelay"] = "00:00:00.050",
                ["Persistence:Linger"] = "00:00:00", // on the fake clock, a linger would wait for a test to move it
            })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddApplication()
            .AddSingleton<IOrderRepository>(Orders)
            .AddSingleton<ILanguageModel>(Model)
            .AddSingleton(useCases)
            .AddSingleton(profiles)
            .AddSingleton<ICallRepository>(Calls)
            .AddSingleton<IDeadLetterStore>(DeadLetters)
            .AddSingleton<TimeProvider>(Time);
        foreach (var tool in tools)
        {
            services.AddSingleton(tool);
        }

        register?.Invoke(services);

        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Sender = _services.GetRequiredService<ISender>();
    }

    public UseCase UseCase { get; }

    public ScriptedModel Model { get; } = new();

    public RecordingOutput Output { get; } = new();

    public FakeCallRepository Calls { get; } = new();

    public FakeOrderRepository Orders { get; } = new();

    public MemoryDeadLetters DeadLetters { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    public ISender Sender { get; }

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Starts the relay session of the harness's call; <paramref name="resume"/> as after a drain hand-over.</summary>
    public async Task<ActiveCall> StartAsync(IReadOnlyDictionary<string, string>? parameters = null, bool resume = false) =>
        await Sender.Send(
            new SessionStarted(new CallContext("CA00000000000000000000000000000001", "+15550001234", "+15550009999", UseCase.Id, parameters ?? new Dictionary<string, string>(), resume), "VX1", Output),
            _session.Token);

    public static UseCase PizzaUseCase(
        IReadOnlyList<string>? tools = null,
        IReadOnlyDictionary<string, DtmfAction>? dtmf = null,
        int maxToolRounds = 3,
        HandoffSettings? handoff = null,
        SilenceSettings? silence = null) =>
        new(
            "pizza",
            "Pizza",
            "You take pizza orders. Caller: {{caller.name}}.",
            new RelaySettings(),
            new ModelSettings { MaxToolRounds = maxToolRounds },
            greeting: "Hi!",
            toolNames: tools,
            dtmfMap: dtmf,
            handoff: handoff,
            languages: [new LanguageOption("en-US"), new LanguageOption("es-US", "Google", "es-US-Journey-F")],
            apologyLine: "Sorry, say that again?",
            silence: silence);

    public async ValueTask DisposeAsync()
    {
        await _session.CancelAsync();
        await _services.DisposeAsync();
        _session.Dispose();
        Output.Dispose();
    }

    internal static NullLoggerFactory Loggers => NullLoggerFactory.Instance;
}
