using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using VoiceAgent.Application.Abstractions;
using VoiceAgent.Application.Calls;
using VoiceAgent.Application.Common;
using VoiceAgent.Domain.Callers;

namespace VoiceAgent.Application.Tests;

/// <summary>Answering a call reads use cases and profiles from memory, and keeps answering while the store is down.</summary>
public sealed class CallDirectoryTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly IUseCaseRepository _useCases = Substitute.For<IUseCaseRepository>();
    private readonly ICallerProfileRepository _profiles = Substitute.For<ICallerProfileRepository>();

    [Fact]
    public async Task A_use_case_is_read_once_served_from_memory_refreshed_after_its_ttl_and_kept_while_the_store_is_down()
    {
        var first = Harness.PizzaUseCase();
        var second = Harness.PizzaUseCase(maxToolRounds: 5);
        _useCases.GetAsync("pizza", Arg.Any<CancellationToken>()).Returns(first, second);
        var directory = Directory();

        Assert.Same(first, await directory.GetUseCaseAsync("pizza", default));
        Assert.Same(first, await directory.GetUseCaseAsync("pizza", default));
        await _useCases.Received(1).GetAsync("pizza", Arg.Any<CancellationToken>());

        // Past its TTL the copy in memory is still served at once, while a background read refreshes it.
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Same(first, await directory.GetUseCaseAsync("pizza", default));
        await WaitForAsync(async () => ReferenceEquals(second, await directory.GetUseCaseAsync("pizza", default)));

        // The store goes down: the last good copy goes on being served.
        _useCases.GetAsync("pizza", Arg.Any<CancellationToken>()).ThrowsAsync(new IOException("store down"));
        _time.Advance(TimeSpan.FromSeconds(61));
        for (var i = 0; i < 3; i++)
        {
            Assert.Same(second, await directory.GetUseCaseAsync("pizza", default));
        }
    }

    [Fact]
    public async Task A_caller_look_up_the_store_does_not_answer_in_time_leaves_an_unknown_caller_and_a_late_answer_is_kept()
    {
        var late = new TaskCompletionSource<CallerProfile?>();
        _profiles.FindByPhoneNumberAsync("+15550001234", Arg.Any<CancellationToken>()).Returns(late.Task);
        var directory = Directory();

        var lookup = directory.FindCallerAsync("+15550001234", default);
        _time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.Null(await lookup);

        // The store is left alone for a moment: the next caller is not made to wait again.
        Assert.Null(await directory.FindCallerAsync("+15550001234", default).WaitAsync(TimeSpan.FromSeconds(5)));
        await _profiles.Received(1).FindByPhoneNumberAsync("+15550001234", Arg.Any<CancellationToken>());

        var ana = new CallerProfile("+15550001234", "Ana", "pizza");
        late.SetResult(ana);
        Assert.Same(ana, await directory.FindCallerAsync("+15550001234", default));
    }

    [Fact]
    public async Task The_dialled_number_index_is_read_once_and_a_number_two_use_cases_claim_goes_to_the_first_by_id()
    {
        var dentist = new Domain.UseCases.UseCase("dentist", "Dentist", "Book.", new Domain.UseCases.RelaySettings(), new Domain.UseCases.ModelSettings(), phoneNumbers: ["+15550008888", "+15550007777"]);
        var clinic = new Domain.UseCases.UseCase("clinic", "Clinic", "Book.", new Domain.UseCases.RelaySettings(), new Domain.UseCases.ModelSettings(), phoneNumbers: ["+15550007777"]);
        _useCases.ListAsync(Arg.Any<CancellationToken>()).Returns(new UseCaseListing([dentist, clinic], ["DynamoDB item USECASE#broken/USECASE: bad"]));
        var directory = Directory();

        Assert.Equal("dentist", await directory.FindUseCaseIdForNumberAsync("+15550008888", default));
        Assert.Equal("clinic", await directory.FindUseCaseIdForNumberAsync("+15550007777", default));
        Assert.Null(await directory.FindUseCaseIdForNumberAsync("+15550000000", default));
        await _useCases.Received(1).ListAsync(Arg.Any<CancellationToken>());

        // The listed use cases are kept too: no read of their own.
        Assert.Same(dentist, await directory.GetUseCaseAsync("dentist", default));
        await _useCases.DidNotReceive().GetAsync("dentist", Arg.Any<CancellationToken>());
    }

    private CallDirectory Directory() => new(
        _useCases,
        _profiles,
        _time,
        Options.Create(new ConversationOptions()),
        NullLogger<CallDirectory>.Instance);

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
