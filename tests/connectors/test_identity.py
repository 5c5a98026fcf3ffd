"""Identifier normalisation and exact matching: near-identical people never leak."""

from __future__ import annotations

import pytest

from connectors.identity import (
    Identifier,
    IdentifierKind,
    Identity,
    InvalidIdentifier,
    display,
    email_spellings,
    format_phone,
    normalize_customer_number,
    normalize_email,
    normalize_mailbox,
    normalize_phone,
    phone_spellings,
    try_normalize,
)

EMAIL, PHONE, NUMBER = IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.CUSTOMER_NUMBER


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Sanne.DeVries@Example.NL ", "sanne.devries@example.nl"),
        ("sanne.devries+shop@example.nl", "sanne.devries+shop@example.nl"),
        ("sanne.de.vries@example.nl", "sanne.de.vries@example.nl"),
    ],
)
def test_email_is_trimmed_and_lowercased_only(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "sanne", "@example.nl", "sanne@", "a@b@c", "san ne@x.nl"])
def test_invalid_email_is_refused_without_echoing_it(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        normalize_email(raw)
    assert raw.strip() == "" or raw not in str(info.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jan@Bücher.NL", "jan@xn--bcher-kva.nl"),
        ("jan@XN--BCHER-KVA.nl", "jan@xn--bcher-kva.nl"),
        ("jan@ｂücher.nl", "jan@xn--bcher-kva.nl"),  # full-width b: the same domain (UTS #46)
        ("jan@bü_cher.nl", "jan@bü_cher.nl"),  # IDNA refuses it: kept as it is
    ],
)
def test_an_internationalised_domain_is_compared_in_its_ascii_form(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


def test_a_vendor_spelling_the_domain_in_unicode_matches_the_ascii_one() -> None:
    jan = Identity.of(emails=["jan@bücher.nl"])
    assert jan.values(EMAIL) == ["jan@xn--bcher-kva.nl"]
    assert jan.match([(EMAIL, "Jan@xn--bcher-kva.nl")])
    assert jan.match([(EMAIL, "jan@Bücher.nl")])
    assert not jan.match([(EMAIL, "jan@bucher.nl")])  # another domain


def test_an_address_is_looked_up_with_its_domain_in_both_forms() -> None:
    assert email_spellings("jan@xn--bcher-kva.nl") == ["jan@xn--bcher-kva.nl", "jan@bücher.nl"]
    assert email_spellings("sanne@example.nl") == ["sanne@example.nl"]
    assert email_spellings("jan@xn--zz.nl") == ["jan@xn--zz.nl"]  # no valid A-label


def test_a_look_alike_that_lower_cases_to_ascii_stays_itself() -> None:
    """The Kelvin sign lower-cases to "k": a vendor's "\u212aim@x" is not kim@x."""
    assert normalize_email("\u212aim@Example.NL") == "\u212aim@example.nl"
    assert normalize_email("\u212aim@example.nl") != normalize_email("kim@example.nl")
    assert normalize_email("ÖZIL@Example.de") == "özil@example.de"  # other letters as before


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Sanne.DeVries@Example.NL ", "sanne.devries@example.nl"),
        ("sanne.devries+shop@example.nl", "sanne.devries+shop@example.nl"),
        ("sanne@bücher.de", "sanne@xn--bcher-kva.de"),
        ("sanne@xn--bcher-kva.de", "sanne@xn--bcher-kva.de"),
        ("beheer@intranet", "beheer@intranet"),  # a single-label domain receives mail too
        ("klant@portal.test", "klant@portal.test"),
    ],
)
def test_a_mailbox_is_one_address(raw: str, expected: str) -> None:
    assert normalize_mailbox(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        # lists and encoded words that a mail header would read as several recipients
        "=?utf-8?q?mallory=40evil.example?=,sanne.devries@example.nl",
        "=?utf-8?q?mallory=40evil.example?=@example.nl",
        "a,b@example.nl",
        "a;b@example.nl",
        "x(comment)y@example.nl",
        '"quoted"@example.nl',
        "Sanne <sanne@example.nl>",
        "sanne@[127.0.0.1]",
        "sanne@localhost",
        "\u212aim@example.nl",  # the Kelvin sign
        "jo\u0308rg@example.nl",  # a decomposed letter
        "jörg@example.nl",  # no mail header takes a non-ASCII name before the @
        "a@b@example.nl",
    ],
)
def test_anything_but_one_mailbox_is_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_mailbox(raw)


@pytest.mark.parametrize(
    "raw", ["+31 6 12345678", "06-12345678", "0612345678", "+31612345678", "0031 6 1234 5678"]
)
def test_phone_numbers_become_e164_with_nl_default(raw: str) -> None:
    assert normalize_phone(raw) == "+31612345678"


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+31612345678", "+31 6 12345678"),
        ("+31101234567", "+31 10 123 4567"),
        ("+32470123456", "+32 470 12 34 56"),
        ("not a number", "not a number"),
    ],
)
def test_a_phone_number_is_shown_in_the_international_format(e164: str, shown: str) -> None:
    assert format_phone(e164) == shown
    assert display("phone", e164) == shown
    assert display("customer_number", "+31612345678") == "+31612345678"  # only phones


def test_foreign_phone_keeps_its_country() -> None:
    assert normalize_phone("+32 470 12 34 56") == "+32470123456"


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (
            "+31612345678",
            ["+31612345678", "+31 6 12345678", "0612345678", "06 12345678", "06-12345678"],
        ),
        (
            "+31101234567",
            ["+31101234567", "+31 10 1234567", "0101234567", "010 1234567", "010-1234567"],
        ),
        # written nationally a Belgian number would read as a Dutch one: international only
        ("+32470123456", ["+32470123456", "+32 470 123456", "+32 470 12 34 56"]),
    ],
)
def test_a_number_is_looked_up_in_its_usual_spellings(number: str, expected: list[str]) -> None:
    """Systems keep a number as it was typed; every spelling reads back as the number."""
    assert phone_spellings(number) == expected
    assert {normalize_phone(s) for s in expected} == {number}


@pytest.mark.parametrize("raw", ["", "abc", "12"])
def test_invalid_phone_is_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_phone(raw)


def test_customer_number_is_trimmed() -> None:
    assert normalize_customer_number("  1042 ") == "1042"
    with pytest.raises(InvalidIdentifier):
        normalize_customer_number("   ")


def test_identifier_normalises_on_construction_and_hides_its_value() -> None:
    ident = Identifier("email", " Sanne.DeVries@Example.nl")
    assert ident == Identifier(EMAIL, "sanne.devries@example.nl")
    assert "sanne" not in repr(ident)
    assert "sanne" not in repr(Identity([ident]))


def test_try_normalize_is_lenient() -> None:
    assert try_normalize(PHONE, "not a phone") is None
    assert try_normalize(EMAIL, None) is None
    assert try_normalize(NUMBER, 1042) == "1042"


@pytest.fixture
def sanne() -> Identity:
    return Identity.of(emails=["sanne.devries@example.nl"], phones=["06-12345678"])


@pytest.mark.parametrize(
    "vendor_email",
    [
        "sanne.de.vries@example.nl",  # dots
        "sanne.devries+shop@example.nl",  # plus-tag
        "sannedevries@example.nl",
        "sanne.devries@example.nl.evil.test",  # prefix
        "x.sanne.devries@example.nl",  # suffix
        "sanne.devries@example.n",
    ],
)
def test_near_identical_emails_do_not_match(sanne: Identity, vendor_email: str) -> None:
    assert sanne.match([(EMAIL, vendor_email)]) is None


def test_case_and_whitespace_differences_do_match(sanne: Identity) -> None:
    hit = sanne.match([(EMAIL, "  SANNE.DEVRIES@example.NL")])
    assert hit == Identifier(EMAIL, "sanne.devries@example.nl")


def test_phone_in_another_spelling_matches_a_record_without_email(sanne: Identity) -> None:
    assert sanne.match([(PHONE, "+31 6 12345678"), (EMAIL, None)]) == Identifier(
        PHONE, "0612345678"
    )


def test_shared_phone_does_not_pull_in_someone_elses_record(sanne: Identity) -> None:
    # A household or company number: the record names another person's e-mail address.
    assert sanne.match([(EMAIL, "daan.jansen@example.nl"), (PHONE, "+31 6 12345678")]) is None


def test_shared_company_address_is_not_an_identifier(sanne: Identity) -> None:
    # Colleagues at one company address: the address is never compared, the e-mail differs.
    colleague = [(EMAIL, "daan.jansen@example.nl"), (PHONE, "+31 30 1234567")]
    assert sanne.match(colleague) is None


def test_customer_number_matches_exactly_only() -> None:
    identity = Identity.of(customer_numbers=["1042"])
    assert identity.match([(NUMBER, " 1042 ")]) is not None
    assert identity.match([(NUMBER, "10420")]) is None
    assert identity.match([(NUMBER, "104")]) is None


def test_identity_only_matches_kinds_it_verified() -> None:
    by_email = Identity.of(emails=["sanne.devries@example.nl"])
    # Same phone as Sanne, but she never verified her phone: no match through it.
    assert by_email.match([(PHONE, "+31 6 12345678")]) is None
    assert by_email.kinds == frozenset({EMAIL})


def test_a_number_a_search_shows_to_be_someone_else_s_too_matches_no_record(
    sanne: Identity,
) -> None:
    """A household number: the search by it returns Kees's record (his e-mail) and a record
    with only the number. Whose that is cannot be told, so it is nobody's here."""
    kees = [(EMAIL, "kees.devries@example.nl"), (PHONE, "+31612345678")]
    hers = [(EMAIL, "SANNE.devries@example.nl"), (EMAIL, "s.werk@example.nl")]
    hers.append((PHONE, "06 12345678"))
    number_only = [(EMAIL, ""), (PHONE, "+31 6 12345678")]
    contested = sanne.contests(kees)
    assert contested == {Identifier(PHONE, "0612345678").value}
    assert sanne.match(number_only, contested) is None
    assert sanne.match(hers, contested) is not None  # her e-mail still matches
    # her own record (one of its e-mail addresses is verified) and records without e-mail
    # contest nothing
    for record in (hers, number_only, [(PHONE, "06 12345678")]):
        assert not sanne.contests(record)
    assert sanne.match(number_only) is not None
    # someone else's other number contests nothing; nor does anything without a verified phone
    assert not sanne.contests([(EMAIL, "kees.devries@example.nl"), (PHONE, "+31 6 99999999")])
    assert not Identity.of(emails=["sanne.devries@example.nl"]).contests(kees)
    # a record the customer's verified customer number is on is theirs, whatever its e-mail
    numbered = Identity.of(emails=["sanne.devries@example.nl"], phones=["06 12345678"],
                           customer_numbers=["1042"])  # fmt: skip
    old_address = [(EMAIL, "sanne.oud@example.nl"), (NUMBER, "1042"), (PHONE, "06 12345678")]
    assert not numbered.contests(old_address)
    assert numbered.contests(kees)


def test_an_addressee_matches_nobody_and_keeps_a_number_from_matching(sanne: Identity) -> None:
    """An address a record's mail goes to does not say whose the record is: it matches only
    when every such address of a record without one of its own is the customer's. With
    someone else's there, a number does not match either, and beside a number it shows that
    number to be someone else's too."""
    addressee = IdentifierKind.ADDRESSEE
    kees = "kees.devries@example.nl"
    assert sanne.match([(addressee, kees), (PHONE, "06 12345678")]) is None
    assert sanne.match([(addressee, kees), (addressee, "Sanne.Devries@example.nl")]) is None
    # a record whose mail goes only to her is hers (but not one with an address of its own)
    werk = Identity.of(emails=["sanne.devries@example.nl", "s.werk@example.nl"])
    only_hers = [(addressee, "Sanne.Devries@example.nl"), (addressee, "s.werk@example.nl")]
    assert werk.match(only_hers) is not None
    assert werk.match([(EMAIL, kees), *only_hers]) is None
    assert sanne.match([(addressee, ""), (PHONE, "06 12345678")]) is not None
    kees_row = [(addressee, kees), (PHONE, "+31612345678")]
    assert sanne.contests(kees_row) == {Identifier(PHONE, "0612345678").value}
    assert not sanne.contests([(addressee, "sanne.devries@example.nl"), (PHONE, "0612345678")])
