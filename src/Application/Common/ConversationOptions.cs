using System.ComponentModel.DataAnnotations;

namespace VoiceAgent.Application.Common;

/// <summary>How calls and turns behave. Bound from the "Conversation" section and validated on start.</summary>
public sealed class ConversationOptions
{
    public const string SectionName = "Conversation";

    /// <summary>The use case for callers without a profile (or whose profile names none).</summary>
    [Required(ErrorMessage = "Conversation:DefaultUseCaseId is required: the use case callers without a profile get.")]
    public string DefaultUseCaseId { get; set; } = "pizza";

    /// <summary>
    /// Preemptive answers (use cases with model.preemptive, the default, and partialPrompts on): the model starts on a
    /// partial prompt that has not changed for <see cref="PreemptAfter"/>, and its answer is held until the final
    /// prompt confirms the words. Off here turns it off for every use case.
    /// </summary>
    public bool Preemption { get; set; } = true;

    /// <summary>How long a partial prompt must stay the same before the model starts on it (Twilio then still waits for the end of speech).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:02", ErrorMessage = "Conversation:PreemptAfter must be between 0 and 2 s.")]
    public TimeSpan PreemptAfter { get; set; } = TimeSpan.FromMilliseconds(120);

    /// <summary>How long a new turn waits for the turn it superseded to wind down before going ahead.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30", ErrorMessage = "Conversation:SupersedeWait must be between 10 ms and 30 s.")]
    public TimeSpan SupersedeWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Tools still running after this long get a filler line ("One moment…"); zero turns fillers off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30", ErrorMessage = "Conversation:FillerAfter must be between 0 and 30 s.")]
    public TimeSpan FillerAfter { get; set; } = TimeSpan.FromSeconds(1.2);

    /// <summary>Key presses are gathered until no key follows for this long (or '#' is pressed).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:10", ErrorMessage = "Conversation:DtmfInterDigitTimeout must be between 100 ms and 10 s.")]
    public TimeSpan DtmfInterDigitTimeout { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// The most characters one caller utterance may hold: a longer prompt is cut at a word boundary (never refused),
    /// and partial prompts replace each other within this bound.
    /// </summary>
    [Range(100, 100_000, ErrorMessage = "Conversation:MaxUtteranceChars must be between 100 and 100,000.")]
    public int MaxUtteranceChars { get; set; } = 2_000;

    /// <summary>How long a use case read from the store is served from memory before it is read again (in the background).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Conversation:UseCaseCacheTtl must be between 1 s and 1 h.")]
    public TimeSpan UseCaseCacheTtl { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a caller profile (or its absence) is served from memory.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Conversation:CallerProfileCacheTtl must be between 1 s and 1 h.")]
    public TimeSpan CallerProfileCacheTtl { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest answering a call waits for the caller's profile; past it the caller is answered as unknown.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10", ErrorMessage = "Conversation:CallerLookupTimeout must be between 10 ms and 10 s.")]
    public TimeSpan CallerLookupTimeout { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Twilio error codes that mean a relay session failed in its speech providers (besides error messages that name
    /// speech synthesis, transcription or a provider): such a failure reconnects the call with the use case's
    /// relay.fallback providers, once.
    /// </summary>
    public List<string> SpeechProviderErrorCodes { get; set; } = [];

    /// <summary>The longest one tool may run before its result becomes an error.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Conversation:ToolTimeout must be between 100 ms and 5 min.")]
    public TimeSpan ToolTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The write-behind journal. Bound from the "Persistence" section.</summary>
public sealed class PersistenceOptions
{
    public const string SectionName = "Persistence";

    [Range(16, 1_000_000, ErrorMessage = "Persistence:QueueCapacity must be between 16 and 1,000,000.")]
    public int QueueCapacity { get; set; } = 50_000;

    /// <summary>
    /// Writes in flight at once, each for its own share of the calls (a call's writes stay in order). A writer makes
    /// a pass at most every <see cref="Linger"/>, and in a pass its calls' text messages share requests (25 items on
    /// DynamoDB): more writers mean smaller shared requests and more of them. Four carry thousands of calls; at 700
    /// calls on one core, 16 made 2.4 times the requests and cost 12 % more CPU per turn (bench/results/production.md).
    /// </summary>
    [Range(1, 256, ErrorMessage = "Persistence:Writers must be between 1 and 256.")]
    public int Writers { get; set; } = 4;

    /// <summary>The most queued entries a writer takes at once; each call's share of them is one store request.</summary>
    [Range(1, 10_000, ErrorMessage = "Persistence:BatchSize must be between 1 and 10,000.")]
    public int BatchSize { get; set; } = 256;

    /// <summary>
    /// How long a writer woken by a new entry waits for more before it writes, and the least time between the starts
    /// of a busy writer's passes (unless <see cref="BatchSize"/> entries wait): calls whose writes are only text
    /// messages then share requests (on DynamoDB, BatchWriteItem) instead of one request a turn. Zero writes at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01", ErrorMessage = "Persistence:Linger must be between 0 and 1 s.")]
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The first retry delay after a failed write; doubles up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00", ErrorMessage = "Persistence:FirstRetryDelay must be between 1 ms and 1 min.")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00", ErrorMessage = "Persistence:MaxRetryDelay must be between 1 ms and 10 min.")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);
}
