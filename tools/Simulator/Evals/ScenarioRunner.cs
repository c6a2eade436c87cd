using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace VoiceAgent.Simulator.Evals;

/// <summary>The result of one run of one scenario: each turn as heard with its checks, and the whole call's checks.</summary>
public sealed record ScenarioRun(string CallSid, IReadOnlyList<TurnRun> Turns, IReadOnlyList<CheckResult> CallChecks, string? Error)
{
    public IEnumerable<CheckResult> AllChecks => Turns.SelectMany(t => t.Checks.Select(c => c with { Name = $"turn {t.Number}: {c.Name}" })).Concat(CallChecks);

    /// <summary>Every check passed (skipped ones do not count) and nothing broke.</summary>
    public bool Passed => Error is null && AllChecks.All(c => c.Passed || c.Skipped);
}

public sealed record TurnRun(int Number, string Caller, TurnResult Heard, IReadOnlyList<CheckResult> Checks);

/// <summary>
/// Plays one scenario as Twilio would: the signed incoming-call webhook, the relay WebSocket, a prompt (or keys) per
/// turn with the answer read to its last token; then the caller hangs up (or the agent ended the session) and the
/// session's end is reported to the action URL, as Twilio does. Tool and outcome checks read the call from the
/// operations API (<c>GET /calls/{callSid}</c>); free-text expectations go to the judge.
/// </summary>
internal sealed class ScenarioRunner(EvalSettings settings, Judge? judge, HttpClient http)
{
    public async Task<ScenarioRun> RunAsync(EvalScenario scenario, CancellationToken cancellationToken)
    {
        await using var call = new RelayConnection();
        var turns = new List<Taken>();
        var placed = Stopwatch.StartNew();
        try
        {
            await call.ConnectAsync(settings.Url, settings.AuthToken, settings.PublicUrl, scenario.From, scenario.To, cancellationToken).ConfigureAwait(false);
            await call.SetupAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Net.WebSockets.WebSocketException or InvalidOperationException)
        {
            return new ScenarioRun(call.CallSid, [], [], $"the call could not be placed: {ex.Message}");
        }

        var ended = false;
        string? handoffData = null;
        var frames = new Frames(call);
        foreach (var (turn, index) in scenario.Turns.Select((t, i) => (t, i)))
        {
            var heard = ended
                ? new TurnResult(string.Empty, null, null, true, handoffData, "the agent had already ended the call")
                : await TakeTurnAsync(call, frames, turn, cancellationToken).ConfigureAwait(false);
            ended |= heard.Ended;
            handoffData ??= heard.HandoffData;
            turns.Add(new Taken(index + 1, turn, heard, Checks.Answer(turn, heard)));
        }

        await call.DisposeAsync().ConfigureAwait(false);
        try
        {
            await call.ReportSessionEndAsync(settings.Url, settings.AuthToken, ended ? "ended" : "completed", handoffData, Math.Max(1, (int)placed.Elapsed.TotalSeconds), cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            // The call's checks below say what is missing.
        }

        var callChecks = new List<CheckResult>();
        if (scenario.NeedsCallRecord)
        {
            var record = await ReadCallAsync(call.CallSid, scenario, turns, cancellationToken).ConfigureAwait(false);
            if (record.Error is not null)
            {
                callChecks.Add(new CheckResult("call record read", false, record.Error));
            }
            else
            {
                AddToolChecks(scenario, turns, record, callChecks);
            }
        }

        if (scenario.NeedsJudge)
        {
            await JudgeAsync(scenario, turns, callChecks, cancellationToken).ConfigureAwait(false);
        }

        return new ScenarioRun(call.CallSid, [.. turns.Select(t => new TurnRun(t.Number, t.Turn.Describe, t.Heard, t.Checks))], callChecks, null);
    }

    /// <summary>A turn as heard, its checks still open to the call record's and the judge's.</summary>
    private sealed record Taken(int Number, EvalTurn Turn, TurnResult Heard, List<CheckResult> Checks);

    /// <summary>
    /// Says the turn's line (or keys its digits) and reads the answer: to its last text frame, then on for
    /// <see cref="EvalSettings.Settle"/> in case more follows (a tool's hand-off ends the session after its spoken line),
    /// or to the session's end.
    /// </summary>
    private async Task<TurnResult> TakeTurnAsync(RelayConnection call, Frames frames, EvalTurn turn, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        double? firstToken = null;
        double? complete = null;
        var sent = Stopwatch.GetTimestamp();
        try
        {
            if (turn.Say is { } say)
            {
                await call.PromptAsync(say, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                foreach (var digit in turn.Dtmf!)
                {
                    sent = Stopwatch.GetTimestamp();
                    await call.DigitAsync(digit, cancellationToken).ConfigureAwait(false);
                }
            }

            while (true)
            {
                var elapsed = Stopwatch.GetElapsedTime(sent);
                var wait = complete is null ? settings.TurnTimeout - elapsed : settings.Settle;
                var (came, next) = wait <= TimeSpan.Zero ? (false, null) : await frames.NextAsync(wait, cancellationToken).ConfigureAwait(false);
                if (!came)
                {
                    return complete is not null
                        ? new TurnResult(text.ToString().Trim(), firstToken, complete, false, null, null)
                        : new TurnResult(text.ToString().Trim(), firstToken, null, false, null, $"no complete answer within {settings.TurnTimeout.TotalSeconds:0} s");
                }

                if (next is not { } frame)
                {
                    return new TurnResult(text.ToString().Trim(), firstToken, complete, true, null, text.Length > 0 ? null : "the service closed the call without an answer");
                }

                switch (frame.GetProperty("type").GetString())
                {
                    case "text":
                        var token = frame.GetProperty("token").GetString() ?? string.Empty;
                        if (token.Length > 0 && firstToken is null)
                        {
                            firstToken = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                        }

                        text.Append(token);
                        complete = RelayConnection.IsLast(frame) ? Stopwatch.GetElapsedTime(sent).TotalMilliseconds : null;
                        break;
                    case "end":
                        var data = frame.TryGetProperty("handoffData", out var handoff) ? handoff.GetString() : null;
                        return new TurnResult(text.ToString().Trim(), firstToken, Stopwatch.GetElapsedTime(sent).TotalMilliseconds, true, data, null);
                }
            }
        }
        catch (System.Net.WebSockets.WebSocketException ex)
        {
            return new TurnResult(text.ToString().Trim(), firstToken, null, true, null, "the relay socket failed: " + ex.Message);
        }
    }

    /// <summary>
    /// The relay's frames one at a time, with a wait: a receive that outlasts its wait is kept for the next call, since
    /// cancelling a WebSocket receive aborts the socket.
    /// </summary>
    private sealed class Frames(RelayConnection call)
    {
        private Task<JsonElement?>? _next;

        /// <summary>Whether a frame came within <paramref name="wait"/>, and the frame (null once the socket closed).</summary>
        public async Task<(bool Came, JsonElement? Frame)> NextAsync(TimeSpan wait, CancellationToken cancellationToken)
        {
            _next ??= call.ReceiveAsync(CancellationToken.None);
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (await Task.WhenAny(_next, Task.Delay(wait, timer.Token)).ConfigureAwait(false) != _next)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return (false, null);
            }

            await timer.CancelAsync().ConfigureAwait(false);
            var next = _next;
            _next = null;
            return (true, await next.ConfigureAwait(false));
        }
    }

    private sealed record CallRecord(List<List<CalledTool>> ToolsByTurn, List<CalledTool> ToolCalls, int Answered, string? Outcome, string? Error)
    {
        public static CallRecord Failed(string error) => new([], [], 0, null, error);
    }

    /// <summary>
    /// The call from the operations API, once its answers and (when an outcome is expected) its post-call record are
    /// stored: writes are behind the call, so it is read until they are there or <see cref="EvalSettings.RecordTimeout"/> passes.
    /// </summary>
    private async Task<CallRecord> ReadCallAsync(string callSid, EvalScenario scenario, List<Taken> turns, CancellationToken cancellationToken)
    {
        if (settings.ApiKey is null)
        {
            return CallRecord.Failed("tool and outcome checks read GET /calls/{callSid}: pass --api-key");
        }

        // Each answered spoken turn is a caller message with an answer after it in the stored transcript.
        var answered = turns.Count(t => t.Heard.Error is null && t.Heard.Text.Length > 0 && t.Turn.Say is not null);
        var until = Stopwatch.StartNew();
        var last = "not read yet";
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(RelayConnection.HttpBase(settings.Url), "/calls/" + callSid));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.ApiKey);
            try
            {
                using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (response.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
                {
                    return CallRecord.Failed($"GET /calls answered {(int)response.StatusCode}: is --api-key an operations API key of this service?");
                }

                if (response.IsSuccessStatusCode)
                {
                    var record = Parse(body);
                    if (record.Answered >= answered && (scenario.Expect.Outcome is null || record.Outcome is not null))
                    {
                        return record;
                    }

                    last = $"{record.Answered} of {answered} answers stored{(scenario.Expect.Outcome is not null && record.Outcome is null ? ", no post-call record yet" : string.Empty)}";
                }
                else
                {
                    last = $"GET /calls answered {(int)response.StatusCode}";
                }
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }

            if (until.Elapsed > settings.RecordTimeout)
            {
                return CallRecord.Failed($"the call was not stored within {settings.RecordTimeout.TotalSeconds:0} s ({last})");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The tool calls of each caller message (a keypad turn is one too), from the transcript's tool uses joined to the
    /// call's tool calls by id; all tool calls in the order they started; the post-call outcome.
    /// </summary>
    private static CallRecord Parse(string body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var calls = root.GetProperty("toolCalls").EnumerateArray()
            .Select(t => (
                Id: t.GetProperty("toolUseId").GetString()!,
                At: t.GetProperty("startedAt").GetDateTimeOffset(),
                Tool: new CalledTool(t.GetProperty("name").GetString()!, t.GetProperty("input").GetRawText(), t.GetProperty("status").GetString()!)))
            .OrderBy(c => c.At)
            .ToList();
        var byId = calls.ToDictionary(c => c.Id, c => c.Tool, StringComparer.Ordinal);
        var byTurn = new List<List<CalledTool>>();
        var answered = 0;
        var lastAnswered = -1;
        foreach (var message in root.GetProperty("transcript").EnumerateArray())
        {
            if (message.GetProperty("role").GetString() == "caller")
            {
                if (!message.TryGetProperty("toolResults", out _))
                {
                    byTurn.Add([]);
                }

                continue;
            }

            if (byTurn.Count == 0)
            {
                continue;
            }

            if (lastAnswered != byTurn.Count - 1 && message.GetProperty("text").GetString() is { Length: > 0 })
            {
                lastAnswered = byTurn.Count - 1;
                answered++;
            }

            if (message.TryGetProperty("toolUses", out var uses))
            {
                byTurn[^1].AddRange(uses.EnumerateArray().Select(u => u.GetProperty("id").GetString()!).Where(byId.ContainsKey).Select(id => byId[id]));
            }
        }

        var outcome = root.TryGetProperty("record", out var record) && record.ValueKind == JsonValueKind.Object ? record.GetProperty("outcome").GetString() : null;
        return new CallRecord(byTurn, [.. calls.Select(c => c.Tool)], answered, outcome, null);
    }

    private static void AddToolChecks(EvalScenario scenario, List<Taken> turns, CallRecord record, List<CheckResult> callChecks)
    {
        for (var i = 0; i < turns.Count; i++)
        {
            var expect = turns[i].Turn.Expect;
            var called = i < record.ToolsByTurn.Count ? record.ToolsByTurn[i] : [];
            var checks = turns[i].Checks;
            if (expect.Tools.Count > 0)
            {
                checks.Add(Checks.ToolsInOrder(expect.Tools, called));
            }

            if (expect.NoTools)
            {
                checks.Add(new CheckResult("calls no tool", called.Count == 0, called.Count == 0 ? null : "called: " + string.Join(", ", called.Select(c => c.Name))));
            }
        }

        if (scenario.Expect.Tools.Count > 0)
        {
            callChecks.Add(Checks.ToolsInOrder(scenario.Expect.Tools, record.ToolCalls));
        }

        foreach (var name in scenario.Expect.NotTools)
        {
            var times = record.ToolCalls.Count(c => c.Name == name);
            callChecks.Add(new CheckResult($"never calls {name}", times == 0, times == 0 ? null : $"called {times} time(s)"));
        }

        if (scenario.Expect.Outcome is { } outcome)
        {
            callChecks.Add(new CheckResult($"outcome {outcome}", record.Outcome == outcome, "outcome: " + (record.Outcome ?? "none")));
        }
    }

    /// <summary>Free-text expectations, each put to the judge with what the caller heard so far.</summary>
    private async Task JudgeAsync(EvalScenario scenario, List<Taken> turns, List<CheckResult> callChecks, CancellationToken cancellationToken)
    {
        var transcript = new StringBuilder();
        foreach (var turn in turns)
        {
            transcript.Append("Caller: ").AppendLine(turn.Turn.Describe);
            transcript.Append("Agent: ").AppendLine(turn.Heard.Text.Length > 0 ? turn.Heard.Text : "(nothing)");
            if (turn.Turn.Expect.Judge is { } criterion)
            {
                turn.Checks.Add(await VerdictAsync($"judge: {criterion}", criterion, transcript.ToString(), cancellationToken).ConfigureAwait(false));
            }
        }

        if (scenario.Expect.Judge is { } whole)
        {
            callChecks.Add(await VerdictAsync($"judge: {whole}", whole, transcript.ToString(), cancellationToken).ConfigureAwait(false));
        }
    }

    private async Task<CheckResult> VerdictAsync(string name, string criterion, string transcript, CancellationToken cancellationToken)
    {
        if (judge is null)
        {
            return new CheckResult(name, false, "no judge configured (--judge-url, --judge-model)", Skipped: true);
        }

        var verdict = await judge.JudgeAsync(criterion, transcript, cancellationToken).ConfigureAwait(false);
        return new CheckResult(name, verdict.Passed, verdict.Reason, verdict.Error);
    }
}
