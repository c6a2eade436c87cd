namespace VoiceAgent.Domain.Calls;

/// <summary>
/// A long call's older history told in a few sentences: the model is sent <paramref name="Summary"/> in place of the
/// conversation's first <paramref name="FoldedMessages"/> messages (the stored transcript keeps them all).
/// </summary>
public sealed record ContextFold(string Summary, int FoldedMessages);
