extern alias simulator;

using System.Text.Json;
using Amazon.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using VoiceAgent.Api.Operations;
using VoiceAgent.FakeBedrock;
using simulator::VoiceAgent.Simulator.Evals;

namespace VoiceAgent.Integration.Tests;

/// <summary>
/// <c>simulator eval</c> end to end on loopback: the service on Kestrel with the Bedrock client, the scripted model
/// answering from the scenario files, the simulator playing Twilio and reading the call back from the operations API.
/// </summary>
public sealed class EvalTests
{
    private const string Key = "va_eval-key-for-the-operations-api";

    /// <summary>Every module's scenarios, as CI runs them: each scenario twice, all passing.</summary>
    [Fact]
    public async Task Every_module_ships_scenarios_that_pass_against_the_scripted_model()
    {
        var directories = Directory.GetDirectories(Path.Combine(Repository.Root, "src", "Modules"))
            .Select(m => Path.Combine(m, "evals"))
            .Where(Directory.Exists)
            .ToList();
        Assert.Equal(Directory.GetDirectories(Path.Combine(Repository.Root, "src", "Modules")).Length, directories.Count);
        await using var service = await ServiceAsync(directories);
        var reports = Directory.CreateTempSubdirectory("voiceagent-evals-");
        try
        {
            var output = new StringWriter();
            var report = await EvalCommand.RunAsync(service.Settings(directories, reports.FullName) with { Runs = 2 }, output, CancellationToken.None);

            Assert.True(report.Scenarios.All(s => s.PassRate == 1.0), output + Environment.NewLine + report.ToMarkdown());
            Assert.Equal(directories.Sum(d => Directory.GetFiles(d, "*.json").Length), report.Scenarios.Count);
            Assert.All(report.Scenarios, s => Assert.Equal((2, 2), (s.Runs, s.Passed)));

            // What was checked, not only that nothing failed: tools with arguments, outcomes, keypad turns, latency.
            var pickup = Assert.Single(report.Scenarios, s => s.File.EndsWith("order-pickup.json", StringComparison.Ordinal));
            Assert.Contains(pickup.Checks, c => c.Name.StartsWith("turn 2: calls place_order {", StringComparison.Ordinal) && c.Passed == 2);
            Assert.Contains(pickup.Checks, c => c.Name == "outcome order_placed" && c.Passed == 2);
            Assert.Contains(pickup.Checks, c => c.Name == "turn 1: first token within 3000 ms" && c.Passed == 2);
            Assert.NotNull(pickup.FirstTokenP50Ms);
            Assert.Contains(report.Scenarios, s => s.Checks.Any(c => c.Name == "turn 1: says \"Monday to Thursday\"" && c.Passed == 2));
            Assert.Contains(report.Scenarios, s => s.Checks.Any(c => c.Name == "turn 1: ends the call" && c.Passed == 2) && s.Checks.Any(c => c.Name == "outcome handed_off" && c.Passed == 2));

            // Without a judge, the free-text expectations are listed as not judged, and do not count.
            Assert.Contains(pickup.Checks, c => c.Name.StartsWith("turn 1: judge:", StringComparison.Ordinal) && c.Skipped == 2);
            Assert.Contains("## Not judged", await File.ReadAllTextAsync(report.MarkdownPath!), StringComparison.Ordinal);
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report.JsonPath!));
            Assert.Equal(report.Scenarios.Count, json.RootElement.GetProperty("scenarios").GetArrayLength());
            Assert.Equal(1.0, json.RootElement.GetProperty("scenarios")[0].GetProperty("passRate").GetDouble());
        }
        finally
        {
            reports.Delete(recursive: true);
        }
    }

    /// <summary>An agent that breaks the rules: each broken expectation is reported, the judge's verdict counts, the exit code says so.</summary>
    [Fact]
    public async Task A_scenario_the_agent_fails_reports_each_failed_check_and_exits_with_1()
    {
        var scenarios = Directory.CreateTempSubdirectory("voiceagent-eval-scenarios-");
        var reports = Directory.CreateTempSubdirectory("voiceagent-evals-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(scenarios.FullName, "chatty.json"), """
                {
                  "name": "A chatty agent",
                  "to": "+15550009999",
                  "every": { "maxSentences": 2, "noMarkdown": true },
                  "turns": [
                    {
                      "say": "What pizzas do you have?",
                      "expect": { "say": ["calzone"], "notSay": ["/pepperoni/"], "tools": [ { "name": "check_pickup_time" } ], "judge": "The agent answers in one short sentence." },
                      "model": [ { "text": "We have **three** pizzas:\n1. Pepperoni\n2. Margherita\n3. Hawaiian. Which one would you like? We also do sides." } ]
                    }
                  ],
                  "expect": { "outcome": "order_placed" }
                }
                """);
            await using var judge = await FakeJudge.StartAsync("{\"pass\": false, \"reason\": \"Four sentences and a list.\"}");
            await using var service = await ServiceAsync([scenarios.FullName]);
            var output = new StringWriter();

            var exit = await EvalCommand.MainAsync(
                ["eval", scenarios.FullName, "--url", service.Url.ToString(), "--runs", "1", "--auth-token", VoiceAgentFactory.AuthToken,
                 "--public-url", VoiceAgentFactory.PublicBaseUrl, "--api-key", Key, "--report-dir", reports.FullName,
                 "--judge-url", judge.Url + "v1", "--judge-model", "judge-model", "--record-timeout-seconds", "15"],
                output,
                CancellationToken.None);

            Assert.Equal(1, exit);
            var markdown = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(reports.FullName, "*.md")));
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(reports.FullName, "*.json"))));
            var scenario = json.RootElement.GetProperty("scenarios")[0];
            Assert.Equal(0.0, scenario.GetProperty("passRate").GetDouble());
            var failed = scenario.GetProperty("checks").EnumerateArray()
                .Where(c => c.GetProperty("failed").GetInt32() == 1)
                .Select(c => c.GetProperty("name").GetString())
                .ToList();
            Assert.Equal(
                ["turn 1: says \"calzone\"", "turn 1: never says \"/pepperoni/\"", "turn 1: at most 2 sentences", "turn 1: calls check_pickup_time", "turn 1: judge: The agent answers in one short sentence.", "outcome order_placed"],
                failed);

            // The model wrote markdown; the service kept it from the voice, and the check heard none.
            Assert.Contains(scenario.GetProperty("checks").EnumerateArray(), c => c.GetProperty("name").GetString() == "turn 1: no markdown" && c.GetProperty("passed").GetInt32() == 1);
            Assert.Contains("Four sentences and a list.", markdown, StringComparison.Ordinal);
            Assert.Contains("outcome: caller_hung_up", markdown, StringComparison.Ordinal);
            Assert.Contains("| A chatty agent ✗ | 0 % | 0/1 |", markdown, StringComparison.Ordinal);

            // The judge was asked as an OpenAI-compatible chat completion, with the criterion and what the caller heard.
            using var asked = JsonDocument.Parse(Assert.Single(judge.Requests));
            Assert.Equal("judge-model", asked.RootElement.GetProperty("model").GetString());
            var question = asked.RootElement.GetProperty("messages")[1].GetProperty("content").GetString()!;
            Assert.Contains("Criterion: The agent answers in one short sentence.", question, StringComparison.Ordinal);
            Assert.Contains("Caller: What pizzas do you have?", question, StringComparison.Ordinal);
            Assert.Contains("Agent: We have three pizzas:", question, StringComparison.Ordinal);
        }
        finally
        {
            scenarios.Delete(recursive: true);
            reports.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_scenario_file_with_a_mistake_is_refused_with_its_path_and_key()
    {
        var scenarios = Directory.CreateTempSubdirectory("voiceagent-eval-scenarios-");
        try
        {
            var file = Path.Combine(scenarios.FullName, "typo.json");
            await File.WriteAllTextAsync(file, """{ "name": "Typo", "to": "+15550009999", "turns": [ { "say": "Hi", "expect": { "maxSentence": 2 } } ] }""");
            var output = new StringWriter();

            var exit = await EvalCommand.MainAsync(["eval", scenarios.FullName, "--url", "http://127.0.0.1:9"], output, CancellationToken.None);

            Assert.Equal(2, exit);
            Assert.Contains($"{file}: turns[0].expect has an unknown key \"maxSentence\"", output.ToString(), StringComparison.Ordinal);
            Assert.Equal(2, await EvalCommand.MainAsync(["eval", "--url", "http://127.0.0.1:9"], output, CancellationToken.None));
        }
        finally
        {
            scenarios.Delete(recursive: true);
        }
    }

    private static async Task<EvalService> ServiceAsync(IReadOnlyList<string> scenarioDirectories)
    {
        var model = await ScriptedServer.StartAsync("http://127.0.0.1:0", ScenarioModel.Load(scenarioDirectories), CancellationToken.None);
        var factory = new VoiceAgentFactory(realModel: true, new Dictionary<string, string?>
        {
            ["Llm:Provider"] = "Bedrock",
            ["Bedrock:Region"] = "us-east-1",
            ["Bedrock:Endpoint"] = model.Urls.Single(),
            ["Api:Keys:0:Name"] = "evals",
            ["Api:Keys:0:Sha256"] = ApiKeyAuthenticator.Hash(Key),
            ["PostCall:FirstAttemptAfter"] = "00:00:00",
            ["Conversation:DtmfInterDigitTimeout"] = "00:00:00.300",
        })
        {
            AwsCredentials = new BasicAWSCredentials("AKIDEXAMPLE12345678", "secret-key"),
        };
        factory.UseKestrel(0);
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EvalService(factory, model, new Uri(address));
    }

    private sealed class EvalService(VoiceAgentFactory factory, WebApplication model, Uri url) : IAsyncDisposable
    {
        public Uri Url { get; } = url;

        public EvalSettings Settings(IReadOnlyList<string> directories, string reportDirectory) => new(directories, Url)
        {
            AuthToken = VoiceAgentFactory.AuthToken,
            PublicUrl = new Uri(VoiceAgentFactory.PublicBaseUrl),
            ApiKey = Key,
            ReportDirectory = reportDirectory,
            RecordTimeout = TimeSpan.FromSeconds(20),
        };

        public async ValueTask DisposeAsync()
        {
            await factory.DisposeAsync();
            await model.StopAsync();
            await model.DisposeAsync();
        }
    }

    /// <summary>An OpenAI-compatible chat completions endpoint that gives one verdict to every question.</summary>
    private sealed class FakeJudge : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeJudge(WebApplication app, string url) => (_app, Url) = (app, url);

        public string Url { get; }

        public System.Collections.Concurrent.ConcurrentQueue<string> Requests { get; } = new();

        public static async Task<FakeJudge> StartAsync(string verdict)
        {
            var app = LoopbackApp.Create();
            FakeJudge? judge = null;
            app.MapPost("/v1/chat/completions", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                judge!.Requests.Enqueue(await reader.ReadToEndAsync());
                return Results.Json(new { choices = new[] { new { message = new { role = "assistant", content = "```json\n" + verdict + "\n```" } } } });
            });
            judge = new FakeJudge(app, (await LoopbackApp.StartAsync(app)).ToString().TrimEnd('/') + "/");
            return judge;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
