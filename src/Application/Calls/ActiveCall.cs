using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Conversations;
using VoiceAgent.Domain.Callers;
using VoiceAgent.Domain.Calls;
using VoiceAgent.Domain.Conversations;
using VoiceAgent.Domain.UseCases;

namespace VoiceAgent.Application.Calls;

/// <summary>
/// One call while its relay session is open: who and what it is (read by tools and the transport), and the
/// door to its loop. Everything the caller does is posted to the loop as an event; only the loop changes the
/// conversation and starts or cancels a turn.
/// </summary>
public sealed class ActiveCall
{
    private int _fillers;
    private CallLoop? _loop;
    private Func<SystemPromptParts>? _renderSystemPrompt;
    private string? _systemPrompt;
    private int _staticPromptLength;
    private Dictionary<string, string>? _metadata;

    public ActiveCall(
        Call call,
        UseCase useCase,
        CallerProfile? profile,
        Func<SystemPromptParts> systemPrompt,
        ICallOutput output,
        CancellationToken sessionToken,
        IReadOnlyList<ToolSpec>? tools = null,
        Conversation? history = null,
        int maxUtteranceChars = 2_000)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(useCase);
        ArgumentNullException.ThrowIfNull(output);
        Call = call;
        LogId = Domain.Common.LogIds.Call(call.CallSid);
        UseCase = useCase;
        Profile = profile;
        ArgumentNullException.ThrowIfNull(systemPrompt);
        _renderSystemPrompt = systemPrompt;
        Output = output;
        SessionToken = sessionToken;
        Tools = tools ?? [];
        Conversation = history ?? new Conversation();
        MaxUtteranceChars = maxUtteranceChars;
    }

    /// <summary>The most one utterance (or the joined input of superseded turns) may hold.</summary>
    public int MaxUtteranceChars { get; }

    /// <summary>The use case's tools that have handlers: what the model is offered.</summary>
    public IReadOnlyList<ToolSpec> Tools { get; }

    public Call Call { get; }

    public string CallSid => Call.CallSid;

    /// <summary>The CallSid as logs show it (masked).</summary>
    public string LogId { get; }

    public UseCase UseCase { get; }

    public CallerProfile? Profile { get; }

    /// <summary>
    /// The use case's system prompt with this call's values, rendered at the first turn: a call that never speaks
    /// (most of the calls a task holds are between turns or waiting) keeps its few values, not a few kilobytes of
    /// prompt. Only the call's loop reads it.
    /// </summary>
    public string SystemPrompt
    {
        get
        {
            if (_systemPrompt is null)
            {
                var parts = _renderSystemPrompt!();
                _systemPrompt = parts.Whole;
                _staticPromptLength = parts.Static.Length;
                _renderSystemPrompt = null;
            }

            return _systemPrompt;
        }
    }

    /// <summary>How much of <see cref="SystemPrompt"/> every call of the use case shares (the cacheable prefix).</summary>
    public int StaticPromptLength
    {
        get
        {
            _ = SystemPrompt;
            return _staticPromptLength;
        }
    }

    /// <summary>
    /// What the model's requests carry for cost attribution: the use case and a hash of the CallSid (the CallSid
    /// itself stays out of the provider's logs). Made at the first turn, like the prompt.
    /// </summary>
    public IReadOnlyDictionary<string, string> RequestMetadata => _metadata ??= new(StringComparer.Ordinal)
    {
        ["useCase"] = UseCase.Id,
        ["call"] = HashedCallSid(CallSid),
    };

    /// <summary>The model provider's encodings of this call's messages, made at the first turn (an idle call holds none).</summary>
    public MessageEncodings Encodings => field ??= new MessageEncodings();

    /// <summary>The CallSid as the model provider's logs see it: the first 16 bytes of its SHA-256, in hex.</summary>
    public static string HashedCallSid(string callSid) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(callSid)).AsSpan(0, 16));

    public ICallOutput Output { get; }

    /// <summary>Fires when the relay session closes or the host stops.</summary>
    public CancellationToken SessionToken { get; }

    /// <summary>
    /// The history. Changed only by the call's loop; read it from outside only while the loop is idle
    /// (<see cref="IdleAsync"/>).
    /// </summary>
    public Conversation Conversation { get; }

    /// <summary>
    /// The language the caller is being spoken to in, once switched (or carried over by a hand-over); null for the
    /// use case's own. A hand-over passes it to the next session.
    /// </summary>
    public string? Language
    {
        get => Volatile.Read(ref field);
        set => Volatile.Write(ref field, value);
    }

    /// <summary>What the caller is saying right now, from the latest partial prompt; cleared by the final one.</summary>
    public string? Preview => Loop.Preview;

    /// <summary>The turn the loop is running, if any.</summary>
    public TurnHandle? CurrentTurn => Loop.Running;

    /// <summary>Completes when the loop has stopped: the session ended and the last turn is recorded.</summary>
    public Task Completion => Loop.Completion;

    internal CallLoop Loop => _loop ?? throw new InvalidOperationException("The call's loop has not started.");

    /// <summary>Starts the call's loop; once, by the session's start.</summary>
    internal void Start(CallLoop loop)
    {
        if (Interlocked.CompareExchange(ref _loop, loop, null) is not null)
        {
            throw new InvalidOperationException("The call's loop has already started.");
        }

        loop.Start();
    }

    /// <summary>Hands <paramref name="input"/> to the call's loop; false once the loop has stopped.</summary>
    internal bool Post(CallInput input) => Loop.Post(input);

    /// <summary>Completes once the loop has handled everything posted so far and no turn or tool is running.</summary>
    public Task IdleAsync() => Loop.IdleAsync();

    /// <summary>
    /// The instance is handing the call over: the running turn is cancelled (nothing more of it is spoken) and no
    /// new turn starts. Completes once the loop has done so.
    /// </summary>
    public Task HandOverAsync() => Loop.HandOverAsync();

    /// <summary>The session is over: stop the running turn and every timer of the call. Idempotent.</summary>
    public void Close() => Loop.Post(CallInput.SessionClosed.Instance);

    /// <summary>The next of the use case's filler lines, in turn, so the caller does not hear the same one twice running.</summary>
    public string NextFillerLine()
    {
        var lines = UseCase.FillerLines;
        return lines[(Interlocked.Increment(ref _fillers) - 1) % lines.Count];
    }
}
