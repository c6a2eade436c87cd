using System.ComponentModel;
using System.Text.Json;
using System.Text.RegularExpressions;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;

namespace VoiceAgent.Application.Tools.BuiltIn;

/// <summary>Ends the call politely once the caller is done (after the goodbye the model just said).</summary>
public sealed class EndCallTool : Tool<EndCallTool.Args>
{
    public override string Name => "end_call";

    public override string Description => "End the phone call. Use only after the caller is done and you have said goodbye.";

    public override bool IsIdempotent => false;

    protected override async ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken)
    {
        await call.Output.SendAsync(new EndRelay(null), null, cancellationToken).ConfigureAwait(false);
        return new ToolOutcome("{\"ended\":true}") { EndsTurn = true };
    }

    public sealed record Args([property: Description("Why the call ends, for the record.")] string? Reason = null);
}

/// <summary>
/// Hands the caller to a person: ends the relay session with handoff data (reason code and summary); Twilio then
/// calls /action, which dials or enqueues per the use case's handoff settings.
/// </summary>
public sealed class LiveAgentHandoffTool : Tool<LiveAgentHandoffTool.Args>
{
    public enum ReasonCode
    {
        UserRequested,
        ComplexIssue,
        Complaint,
        Other,
    }

    public override string Name => "live_agent_handoff";

    public override string Description =>
        "Transfer the caller to a human member of staff. Use when the caller asks for a person, or when you cannot help. Tell the caller you are transferring them first.";

    public override bool IsIdempotent => false;

    protected override async ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken)
    {
        if (call.UseCase.Handoff is null)
        {
            return ToolOutcome.Error("No staff can take calls right now. Offer to take a message or help another way.");
        }

        var handoffData = JsonSerializer.Serialize(new HandoffData(ToWire(args.ReasonCode), args.ReasonCode.ToString(), args.Summary), ArgumentOptions);
        await call.Output.SendAsync(new EndRelay(handoffData), null, cancellationToken).ConfigureAwait(false);
        return new ToolOutcome("{\"transferred\":true}") { EndsTurn = true };
    }

    private static string ToWire(ReasonCode code) => JsonNamingPolicy.KebabCaseLower.ConvertName(code.ToString());

    public sealed record Args(
        [property: Description("Why the caller is transferred.")] ReasonCode ReasonCode,
        [property: Description("One or two sentences for the staff member: who the caller is and what they need.")] string Summary);

    private sealed record HandoffData(string ReasonCode, string Reason, string Summary);
}

/// <summary>Sends DTMF tones into the call, e.g. to navigate another phone menu.</summary>
public sealed partial class SendDigitsTool : Tool<SendDigitsTool.Args>
{
    public override string Name => "send_dtmf";

    public override string Description => "Send keypad tones (digits 0-9, * and #; w waits half a second) into the call.";

    public override bool IsIdempotent => false;

    protected override async ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken)
    {
        if (!Digits().IsMatch(args.Digits))
        {
            return ToolOutcome.Error("Digits may only be 0-9, *, #, w or W, at most 32 of them.");
        }

        await call.Output.SendAsync(new SendDigits(args.Digits), null, cancellationToken).ConfigureAwait(false);
        return Json(new { Sent = args.Digits });
    }

    public sealed record Args([property: Description("The tones to send, e.g. \"1234#\".")] string Digits);

    [GeneratedRegex("^[0-9*#wW]{1,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex Digits();
}

/// <summary>Switches speech and transcription to another of the use case's languages (its &lt;Language&gt; voices).</summary>
public sealed class SwitchLanguageTool : Tool<SwitchLanguageTool.Args>
{
    public override string Name => "switch_language";

    public override string Description => "Switch the conversation to another language when the caller prefers it. Answer in that language afterwards.";

    protected override async ValueTask<ToolOutcome> RunAsync(ActiveCall call, Args args, CancellationToken cancellationToken)
    {
        var language = call.UseCase.FindLanguage(args.Language);
        if (language is null)
        {
            var offered = string.Join(", ", call.UseCase.Languages.Select(l => l.Code));
            return ToolOutcome.Error($"'{args.Language}' is not available. Languages: {(offered.Length == 0 ? "none" : offered)}.");
        }

        await call.Output.SendAsync(new SwitchLanguage(language.Code, language.Code), null, cancellationToken).ConfigureAwait(false);
        call.Language = language.Code;
        return Json(new { Language = language.Code });
    }

    public sealed record Args([property: Description("BCP-47 code of the language, e.g. es-US.")] string Language);
}
