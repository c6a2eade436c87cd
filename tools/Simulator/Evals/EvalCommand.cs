using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VoiceAgent.Simulator.Evals;

/// <summary>What <c>simulator eval</c> runs, and against what.</summary>
public sealed record EvalSettings(IReadOnlyList<string> Directories, Uri Url)
{
    public string? AuthToken { get; init; }

    public Uri? PublicUrl { get; init; }

    /// <summary>An operations API key: tool and outcome checks read <c>GET /calls/{callSid}</c>.</summary>
    public string? ApiKey { get; init; }

    public int Runs { get; init; } = 3;

    public int Parallel { get; init; } = 4;

    public TimeSpan TurnTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan RecordTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to go on listening after an answer's last text frame, for what may follow it (a hand-off's end).</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The pass rate every scenario must reach for the command to succeed.</summary>
    public double MinPassRate { get; init; } = 1.0;

    public string ReportDirectory { get; init; } = "eval-results";

    /// <summary>A name for the configuration under test (the model, a prompt version), shown in the report.</summary>
    public string? Label { get; init; }

    public Uri? JudgeUrl { get; init; }

    public string? JudgeModel { get; init; }

    public string? JudgeApiKey { get; init; }

    /// <summary>
    /// <c>eval DIR [DIR ...] --url U [--runs N] [--parallel P] [--api-key K] [--auth-token T] [--public-url U]
    /// [--judge-url U --judge-model M] [--min-pass-rate 0.8] [--report-dir D] [--label L] [--turn-timeout-seconds S]
    /// [--record-timeout-seconds S] [--settle-ms 500]</c>; secrets may come from VOICEAGENT_API_KEY, TWILIO_AUTH_TOKEN, EVAL_JUDGE_API_KEY.
    /// </summary>
    public static EvalSettings Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        int Number(string name, int fallback, int min) =>
            Value(name) is not { } text ? fallback
            : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min ? n
            : throw new ArgumentException($"{name} must be a whole number of at least {min}.");

        var directories = new List<string>();
        for (var i = 1; i < args.Length && !args[i].StartsWith("--", StringComparison.Ordinal); i++)
        {
            directories.Add(args[i]);
        }

        if (directories.Count == 0)
        {
            throw new ArgumentException("eval needs a scenario directory: eval src/Modules/Pizza/evals --url http://127.0.0.1:5080");
        }

        var url = Value("--url") ?? throw new ArgumentException("eval needs --url (the service, e.g. http://127.0.0.1:5080).");
        var minPassRate = Value("--min-pass-rate") is { } rate
            ? double.TryParse(rate, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r is >= 0 and <= 1 ? r : throw new ArgumentException("--min-pass-rate is between 0 and 1.")
            : 1.0;
        var judgeUrl = Value("--judge-url");
        var judgeModel = Value("--judge-model");
        if ((judgeUrl is null) != (judgeModel is null))
        {
            throw new ArgumentException("A judge needs both --judge-url (an OpenAI-compatible API, e.g. https://api.openai.com/v1) and --judge-model.");
        }

        return new EvalSettings(directories, new Uri(url))
        {
            AuthToken = Value("--auth-token") ?? Environment.GetEnvironmentVariable("TWILIO_AUTH_TOKEN"),
            PublicUrl = Value("--public-url") is { } publicUrl ? new Uri(publicUrl) : null,
            ApiKey = Value("--api-key") ?? Environment.GetEnvironmentVariable("VOICEAGENT_API_KEY"),
            Runs = Number("--runs", 3, 1),
            Parallel = Number("--parallel", 4, 1),
            TurnTimeout = TimeSpan.FromSeconds(Number("--turn-timeout-seconds", 30, 1)),
            RecordTimeout = TimeSpan.FromSeconds(Number("--record-timeout-seconds", 30, 1)),
            Settle = TimeSpan.FromMilliseconds(Number("--settle-ms", 500, 0)),
            MinPassRate = minPassRate,
            ReportDirectory = Value("--report-dir") ?? "eval-results",
            Label = Value("--label"),
            JudgeUrl = judgeUrl is null ? null : new Uri(judgeUrl),
            JudgeModel = judgeModel,
            JudgeApiKey = Environment.GetEnvironmentVariable("EVAL_JUDGE_API_KEY"),
        };
    }
}

/// <summary>
/// <c>simulator eval</c>: every scenario under the directories, <see cref="EvalSettings.Runs"/> times each (runs in
/// parallel up to <see cref="EvalSettings.Parallel"/>), then a Markdown and a JSON report with each scenario's pass
/// rate and which checks failed how often.
/// </summary>
public static class EvalCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Runs the evals; the exit code is 0 when every scenario reached the minimum pass rate, 1 when one did not, 2 when they could not run.</summary>
    public static async Task<int> MainAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        EvalSettings settings;
        try
        {
            settings = EvalSettings.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await output.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }

        try
        {
            var report = await RunAsync(settings, output, cancellationToken).ConfigureAwait(false);
            return report.Scenarios.All(s => s.PassRate >= settings.MinPassRate) ? 0 : 1;
        }
        catch (InvalidDataException ex)
        {
            await output.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }
    }

    public static async Task<EvalReport> RunAsync(EvalSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        var scenarios = settings.Directories.SelectMany(EvalScenario.LoadAll).ToList();
        if (settings.ApiKey is null && scenarios.FirstOrDefault(s => s.NeedsCallRecord) is { } needsKey)
        {
            throw new InvalidDataException($"{needsKey.File}: its tool or outcome checks read the call from GET /calls/{{callSid}}; pass --api-key (an operations API key, see create-api-key).");
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var judge = settings.JudgeUrl is { } judgeUrl ? new Judge(http, judgeUrl, settings.JudgeModel!, settings.JudgeApiKey) : null;
        var runner = new ScenarioRunner(settings, judge, http);
        var started = DateTimeOffset.UtcNow;
        var runs = scenarios.SelectMany(s => Enumerable.Range(1, settings.Runs).Select(n => (Scenario: s, Number: n))).ToList();
        var results = new ScenarioRun[runs.Count];
        using var gate = new SemaphoreSlim(settings.Parallel);
        var console = new object();
        await Task.WhenAll(runs.Select(async (run, i) =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                results[i] = await runner.RunAsync(run.Scenario, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }

            lock (console)
            {
                output.WriteLine($"{(results[i].Passed ? "pass" : "FAIL")}  {run.Scenario.Name} (run {run.Number}, {results[i].CallSid}){Failures(results[i])}");
            }
        })).ConfigureAwait(false);

        var report = EvalReport.Build(settings, started, scenarios, runs.Select(r => r.Scenario).ToList(), results);
        Directory.CreateDirectory(settings.ReportDirectory);
        var stamp = started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var jsonPath = Path.Combine(settings.ReportDirectory, $"eval-{stamp}.json");
        var markdownPath = Path.Combine(settings.ReportDirectory, $"eval-{stamp}.md");
        await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, Json), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(markdownPath, report.ToMarkdown(), cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"{report.Scenarios.Count(s => s.PassRate >= settings.MinPassRate)} of {report.Scenarios.Count} scenarios at a pass rate of at least {settings.MinPassRate:P0}; report: {markdownPath} and {jsonPath}").ConfigureAwait(false);
        return report with { MarkdownPath = markdownPath, JsonPath = jsonPath };
    }

    private static string Failures(ScenarioRun run)
    {
        if (run.Passed)
        {
            return string.Empty;
        }

        var failed = run.Error is not null ? [run.Error] : run.AllChecks.Where(c => !c.Passed && !c.Skipped).Select(c => c.Name + (c.Detail is null ? string.Empty : ": " + c.Detail));
        return Environment.NewLine + string.Join(Environment.NewLine, failed.Select(f => "      " + f));
    }
}

/// <summary>The report: each scenario's pass rate over its runs, first-token latency, and each check's failures.</summary>
public sealed record EvalReport(DateTimeOffset StartedAt, string Url, string? Label, int RunsPerScenario, double MinPassRate, IReadOnlyList<ScenarioSummary> Scenarios)
{
    [JsonIgnore]
    public string? MarkdownPath { get; init; }

    [JsonIgnore]
    public string? JsonPath { get; init; }

    public static EvalReport Build(EvalSettings settings, DateTimeOffset started, IReadOnlyList<EvalScenario> scenarios, IReadOnlyList<EvalScenario> runScenarios, IReadOnlyList<ScenarioRun> runs)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(scenarios);
        var summaries = scenarios.Select(scenario =>
        {
            var mine = runs.Where((_, i) => ReferenceEquals(runScenarios[i], scenario)).ToList();
            var firstTokens = mine.SelectMany(r => r.Turns).Select(t => t.Heard.FirstTokenMs).OfType<double>().Order().ToList();
            var checks = mine.SelectMany(r => r.AllChecks)
                .GroupBy(c => c.Name, StringComparer.Ordinal)
                .Select(g => new CheckSummary(
                    g.Key,
                    g.Count(c => c.Passed && !c.Skipped),
                    g.Count(c => !c.Passed && !c.Skipped),
                    g.Count(c => c.Skipped),
                    [.. g.Where(c => !c.Passed).Select(c => c.Detail).OfType<string>().Distinct(StringComparer.Ordinal).Take(3)]))
                .ToList();
            var passed = mine.Count(r => r.Passed);
            return new ScenarioSummary(
                scenario.Name,
                scenario.File,
                mine.Count,
                passed,
                mine.Count == 0 ? 0 : Math.Round((double)passed / mine.Count, 4),
                Percentile(firstTokens, 0.50),
                Percentile(firstTokens, 0.95),
                checks,
                [.. mine.Select(r => r.Error).OfType<string>().Distinct(StringComparer.Ordinal)],
                [.. mine.Select(r => r.CallSid)]);
        }).ToList();
        return new EvalReport(started, settings.Url.ToString(), settings.Label, settings.Runs, settings.MinPassRate, summaries);
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine("# Eval report").AppendLine();
        md.Append(CultureInfo.InvariantCulture, $"{StartedAt:yyyy-MM-dd HH:mm} UTC · {Url} · {RunsPerScenario} run(s) per scenario");
        md.AppendLine(Label is null ? string.Empty : $" · {Label}").AppendLine();
        md.AppendLine("| Scenario | Pass rate | Runs passed | First token p50 / p95 |");
        md.AppendLine("|---|---:|---:|---:|");
        foreach (var s in Scenarios)
        {
            var mark = s.PassRate >= MinPassRate ? string.Empty : " ✗";
            md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Name}{mark} | {s.PassRate:P0} | {s.Passed}/{s.Runs} | {Ms(s.FirstTokenP50Ms)} / {Ms(s.FirstTokenP95Ms)} |");
        }

        var failing = Scenarios.Where(s => s.Checks.Any(c => c.Failed > 0) || s.Errors.Count > 0).ToList();
        if (failing.Count > 0)
        {
            md.AppendLine().AppendLine("## Failed checks");
            foreach (var s in failing)
            {
                md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"### {s.Name}").AppendLine().AppendLine(CultureInfo.InvariantCulture, $"`{s.File}`").AppendLine();
                foreach (var error in s.Errors)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"- run error: {error}");
                }

                foreach (var c in s.Checks.Where(c => c.Failed > 0))
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"- {c.Name}: failed {c.Failed} of {c.Passed + c.Failed}");
                    foreach (var detail in c.Failures)
                    {
                        md.AppendLine(CultureInfo.InvariantCulture, $"  - {detail}");
                    }
                }
            }
        }

        var skipped = Scenarios.SelectMany(s => s.Checks).Where(c => c.Skipped > 0).Select(c => c.Name).Distinct(StringComparer.Ordinal).ToList();
        if (skipped.Count > 0)
        {
            md.AppendLine().AppendLine("## Not judged").AppendLine();
            foreach (var name in skipped)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {name}");
            }
        }

        return md.ToString();
    }

    private static string Ms(double? value) => value is { } ms ? string.Create(CultureInfo.InvariantCulture, $"{ms:0} ms") : "–";

    private static double? Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? null : Math.Round(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)], 1);
}

public sealed record ScenarioSummary(
    string Name,
    string File,
    int Runs,
    int Passed,
    double PassRate,
    double? FirstTokenP50Ms,
    double? FirstTokenP95Ms,
    IReadOnlyList<CheckSummary> Checks,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> CallSids);

public sealed record CheckSummary(string Name, int Passed, int Failed, int Skipped, IReadOnlyList<string> Failures);
