using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace VoiceAgent.Application.Common;

/// <summary>
/// The mediator's <see cref="ISender"/> for services the mediator's own handlers depend on (the turn runner, the
/// DTMF handler): taking it in the constructor would be a dependency cycle, so it is resolved on first use.
/// </summary>
internal sealed class DeferredSender(IServiceProvider services)
{
    private ISender? _sender;

    public ISender Value => _sender ??= services.GetRequiredService<ISender>();
}
