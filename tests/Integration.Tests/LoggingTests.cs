using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Tests;
using VoiceAgent.Domain.Common;

namespace VoiceAgent.Integration.Tests;

/// <summary>What a call leaves in the logs: every line of its session carries its masked CallSid; no raw ids, numbers or keys.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Every_session_log_line_carries_the_masked_call_scope_and_no_line_carries_a_raw_id_number_or_key()
    {
        var logs = new CapturingLoggerProvider();
        await using var factory = new VoiceAgentFactory(realModel: false, new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Conversation:DtmfInterDigitTimeout"] = "00:00:00.100",
        })
        {
            TestServices = services => services.AddSingleton<ILoggerProvider>(logs),
        };
        var release = new TaskCompletionSource();
        factory.Model
            .Then((_, ct) => ScriptedModel.ToolUse("check_pickup_time", "{}", ct, new TextDelta("Let me check.")))
            .ThenSays("Twenty minutes.")
            .Then((_, ct) => Slow(release.Task, ct))
            .ThenSays("You pressed a key.");

        await using (var twilio = await factory.ConnectRelayAsync())
        {
            await twilio.SetupAsync();
            await twilio.PromptAsync("When is it ready?");
            await twilio.ReceiveAnswerAsync();
            await twilio.SendJsonAsync(new { type = "info", name = "stats" });
            await twilio.SendJsonAsync(new { type = "somethingNew", value = 1 });
            await twilio.SendJsonAsync(new { type = "error", description = "TTS hiccup" });
            await twilio.PromptAsync("And the specials?");
            var first = await twilio.ReceiveAsync();
            Assert.Equal("Today we have ", first!.Value.GetProperty("token").GetString());
            await twilio.SendJsonAsync(new { type = "interrupt", utteranceUntilInterrupt = "Today", durationUntilInterruptMs = 300 });
            await WaitForAsync(() => logs.Records.Any(r => r.Message.Contains("barge-in during turn", StringComparison.Ordinal)));
            release.SetResult();

            // A key press whose sequence ends by the inter-digit timer: logged from a timer callback.
            await twilio.SendJsonAsync(new { type = "dtmf", digit = "7" });
            await twilio.ReceiveAnswerAsync();
        }

        await WaitForAsync(() => logs.Records.Any(r => r.Message.Contains("relay session closed", StringComparison.Ordinal)));
        var masked = LogIds.Call(RelayClient.CallSid);
        string[] sessionCategories =
        [
            "VoiceAgent.Api.Relay.RelaySession",
            "VoiceAgent.Application.Conversations.",
            "VoiceAgent.Application.Relay.",
            "VoiceAgent.Application.Tools.",
        ];
        var session = logs.Records.Where(r => sessionCategories.Any(c => r.Category.StartsWith(c, StringComparison.Ordinal))).ToList();
        Assert.Contains(session, r => r.Category.EndsWith("CallLoop", StringComparison.Ordinal));
        Assert.Contains(session, r => r.Category.EndsWith("ToolInvoker", StringComparison.Ordinal));
        Assert.Contains(session, r => r.Message.Contains("unknown type", StringComparison.Ordinal));
        Assert.All(session, r => Assert.True(r.Scopes.Contains(("CallSid", masked)), $"no call scope on: {r.Category}: {r.Message}"));

        foreach (var record in logs.Records)
        {
            var text = record.Category + " " + record.Message + " " + record.State + " " + record.Exception;
            Assert.DoesNotContain(RelayClient.CallSid, text, StringComparison.Ordinal);
            Assert.DoesNotContain("+15550001234", text, StringComparison.Ordinal);
            Assert.DoesNotContain("CALL#CA", text, StringComparison.Ordinal);
            Assert.DoesNotContain("ticket=", text, StringComparison.Ordinal);
        }
    }

    private static async IAsyncEnumerable<ModelStreamEvent> Slow(Task release, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        yield return new TextDelta("Today we have ");
        await release.WaitAsync(ct);
        yield return new ModelCompleted(ModelStopReason.EndTurn);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}

/// <summary>Keeps every log record with the scopes it was written under.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly List<LogRecord> _records = [];
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<LogRecord> Records
    {
        get
        {
            lock (_records)
            {
                return _records.ToList();
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    internal sealed record LogRecord(string Category, LogLevel Level, string Message, string State, string? Exception, IReadOnlyList<(string Key, string? Value)> Scopes);

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<(string, string?)>();
            provider._scopes.ForEachScope(
                static (scope, list) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                    {
                        list.AddRange(pairs.Select(p => (p.Key, p.Value?.ToString())));
                    }
                },
                scopes);
            var values = state is IEnumerable<KeyValuePair<string, object?>> properties ? string.Join(";", properties.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            lock (provider._records)
            {
                provider._records.Add(new LogRecord(category, logLevel, formatter(state, exception), values, exception?.ToString(), scopes));
            }
        }
    }
}
