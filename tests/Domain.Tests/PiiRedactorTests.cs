using VoiceAgent.Domain.Common;
using VoiceAgent.Domain.Conversations;

namespace VoiceAgent.Domain.Tests;

public sealed class PiiRedactorTests
{
    private static readonly PiiRedactor Redactor = PiiRedactor.BuiltIn;

    [Theory]
    [InlineData("My card number is 4111 1111 1111 1111.", "My card number is [card number].")]
    [InlineData("It's 4111-1111-1111-1111, expiry 12/27, code 123", "It's [card number], expiry 12/27, code 123")]
    [InlineData("4111111111111111", "[card number]")]
    [InlineData("amex 3782 822463 10005 thanks", "amex [card number] thanks")]
    [InlineData("Sure, it's 5555, 5555, 5555, 4444.", "Sure, it's [card number].")]
    [InlineData("the card is 4111 1111 1111 1111 12 27 and 123", "the card is [card number] and 123")]
    public void Card_numbers_written_as_digits_become_a_marker(string said, string expected) =>
        Assert.Equal(expected, Redactor.Redact(said));

    [Fact]
    public void A_card_number_spoken_as_words_is_found_as_the_stt_writes_it()
    {
        const string said = "yeah it's four one one one one one one one one one one one one one one one";
        Assert.Equal("yeah it's [card number]", Redactor.Redact(said));

        // "oh" for zero, "double" and "triple" as callers read numbers out (6011 0009 9013 9424 is a test Discover).
        const string spoken = "Six oh one one, triple oh nine, nine oh one three, nine four two four. That's it.";
        Assert.Equal("[card number]. That's it.", Redactor.Redact(spoken));
        Assert.Equal("ok [card number]", Redactor.Redact("ok four triple one, double one double one, double one double one, double one double one"));
    }

    [Theory]
    [InlineData("Order number 4111 1111 1111 1112 please")]
    [InlineData("My phone is 415 555 0134 and I live at 221 Baker Street")]
    [InlineData("Two large pizzas, 3 sodas, at 7 pm")]
    [InlineData("A ticket for the 1st, 2nd and 3rd of May")]
    [InlineData("one of them, two of those")]
    public void Numbers_that_are_not_card_or_social_security_numbers_are_left_as_said(string said) =>
        Assert.Same(said, Redactor.Redact(said));

    [Theory]
    [InlineData("My SSN is 123-45-6789.", "My SSN is [social security number].")]
    [InlineData("it's 123 45 6789", "it's [social security number]")]
    [InlineData("my social is one two three four five six seven eight nine", "my social is [social security number]")]
    [InlineData("Social security number 123456789", "Social security number [social security number]")]
    public void Social_security_numbers_become_a_marker(string said, string expected) =>
        Assert.Equal(expected, Redactor.Redact(said));

    [Theory]
    [InlineData("my account is 123456789")] // nine digits, no SSN layout, no mention of one
    [InlineData("my SSN is 000-12-3456")] // area 000 is never issued
    [InlineData("my SSN is 666-12-3456")]
    [InlineData("SSN 123-00-4567")]
    public void Nine_digits_that_cannot_be_a_social_security_number_stay(string said) =>
        Assert.Same(said, Redactor.Redact(said));

    [Fact]
    public void A_partial_prompt_withholds_the_number_being_read_out_until_it_is_whole()
    {
        // Partial prompts are the utterance so far: the first groups of a card number are not a card number yet.
        Assert.Equal("my card is [number]", Redactor.Redact("my card is 4111 1111", partial: true));
        Assert.Equal("my card is [number]", Redactor.Redact("my card is four one one one one", partial: true));
        Assert.Equal("my card is [card number]", Redactor.Redact("my card is 4111 1111 1111 1111", partial: true));

        // A short number, or one the caller has moved on from, is left as said.
        Assert.Equal("table for 4", Redactor.Redact("table for 4", partial: true));
        Assert.Equal("room 1234 is cold", Redactor.Redact("room 1234 is cold", partial: true));

        // The final prompt is judged whole.
        Assert.Equal("my card is 4111 1111", Redactor.Redact("my card is 4111 1111"));
    }

    [Fact]
    public void A_use_case_pattern_replaces_what_it_matches_with_its_name()
    {
        var redactor = new PiiRedactor([new RedactionRule("policy number", @"\bPN-?\d{6}\b"), new RedactionRule("email", @"[\w.+-]+@[\w-]+\.[\w.]+")]);

        Assert.Equal(
            "policy [policy number], email [email], card [card number]",
            redactor.Redact("policy pn-123456, email ana.b@example.com, card 4111 1111 1111 1111"));
    }

    [Theory]
    [InlineData("", "x")]
    [InlineData("bad/name", "x")]
    [InlineData("ok", "")]
    [InlineData("ok", "(unclosed")]
    [InlineData("ok", "a*")]
    public void A_rule_that_cannot_work_is_refused_when_the_use_case_is_loaded(string name, string pattern) =>
        Assert.Throws<DomainException>(() => new RedactionRule(name, pattern));

    [Fact]
    public void A_pattern_that_runs_too_long_redacts_the_whole_text_instead_of_letting_it_through()
    {
        var redactor = new PiiRedactor([new RedactionRule("slow", "(a+)+b")]);

        Assert.Equal(PiiRedactor.UncheckedMarker, redactor.Redact(new string('a', 5_000) + "c"));
    }

    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("4111111111111112", false)]
    [InlineData("378282246310005", true)]
    [InlineData("0", true)]
    [InlineData("", false)]
    public void The_luhn_check_is_the_standard_one(string digits, bool valid) =>
        Assert.Equal(valid, PiiRedactor.IsLuhnValid(digits));
}
