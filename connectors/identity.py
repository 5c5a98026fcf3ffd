"""Customer identifiers and their normalisation, done once, here.

A customer proves control over some identifiers (an e-mail address, a phone number, a customer
number). Connectors compare vendor values against those identifiers *exactly*, after both sides
went through the same normaliser:

* e-mail: trimmed and lower-cased, an internationalised domain in its ASCII form
  (``bücher.nl`` → ``xn--bcher-kva.nl``: the same domain, the form mail servers and systems
  that cannot store Unicode use). Nothing else: dots and ``+tags`` are kept, because
  ``sanne.devries@x``, ``sanne.de.vries@x`` and ``sanne.devries+shop@x`` may be different people.
* phone: E.164 via :mod:`phonenumbers`, default region NL (``06-12345678`` → ``+31612345678``);
  a number with an extension is none (it would read as the switchboard's).
* customer number: trimmed.

The portal imports these normalisers too, so a verified identifier and a vendor value can never
be normalised differently.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

import idna
import phonenumbers
from email_validator import EmailNotValidError, validate_email

#: Region used to read phone numbers written without a country code.
DEFAULT_REGION = "NL"


class IdentifierKind(StrEnum):
    """What an identifier is."""

    EMAIL = "email"
    PHONE = "phone"
    CUSTOMER_NUMBER = "customer_number"
    #: Never verified: an e-mail address a record's mail goes to (an invoice's recipient) that
    #: does not say whose the record is. It matches nobody, but like any e-mail address on a
    #: record it keeps a shared phone number from pulling the record in (:meth:`Identity.match`,
    #: :meth:`Identity.contests`).
    ADDRESSEE = "addressee"


class InvalidIdentifier(ValueError):
    """A value cannot be normalised as the given identifier kind. The message holds no value."""


def normalize_email(value: str) -> str:
    """Return ``value`` trimmed and lower-cased, its domain in ASCII (IDNA, UTS #46 mapping).

    ``jan@Bücher.nl`` and ``jan@xn--bcher-kva.nl`` are one mailbox, and a system may hold
    either; the ASCII form is also the only one a mail server without SMTPUTF8 accepts, and
    the one a mail header carries unencoded. A domain IDNA refuses is kept as it is.

    A character that only lower-cases to a plain ASCII letter (the Kelvin sign ``K`` to ``k``)
    is kept as it is, so ``\u212aim@x`` never equals ``kim@x``.

    :raises InvalidIdentifier: if it is not shaped like ``local@domain``.
    """
    email = _lower(value.strip())
    local, sep, domain = email.partition("@")
    if not sep or not local or not domain or "@" in domain or any(c.isspace() for c in email):
        raise InvalidIdentifier("not an e-mail address")
    return f"{local}@{_ascii_domain(domain)}"


def _ascii_domain(domain: str) -> str:
    """``domain`` in its ASCII (A-label) form; as it is when it is ASCII or not a valid IDN.

    Also as it is when IDNA2008 and IDNA2003 (UTS #46 non-transitional and transitional
    processing) make different domains of it: ß, final ς, ZWJ and ZWNJ are kept by the one
    and mapped away by the other (``straße.de`` is ``xn--strae-oqa.de`` or ``strasse.de``),
    and software of both kinds sends mail (PHP's ``idn_to_ascii`` and Python's ``idna`` codec
    are transitional by default). Which mailbox such an address reached cannot be told, so it
    equals neither ASCII form, and is no mailbox to verify (:func:`normalize_mailbox`).
    """
    if domain.isascii():
        return domain
    try:
        mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
        if any(c in _DEVIATIONS for c in mapped):
            return domain
        return idna.encode(mapped).decode("ascii")
    except UnicodeError:  # idna.IDNAError and its kinds
        return domain


#: UTS #46's deviation characters: kept by non-transitional processing (IDNA2008), mapped
#: (ß to ss, ς to σ) or removed (ZWNJ, ZWJ) by transitional processing (IDNA2003).
_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")


def _lower(text: str) -> str:
    """``text`` lower-cased, except a character that lower-cases to plain ASCII only."""
    if text.isascii():
        return text.lower()
    return "".join(c if not c.isascii() and c.lower().isascii() else c.lower() for c in text)


def normalize_mailbox(value: str) -> str:
    """Return ``value`` as :func:`normalize_email` does, if it is one mailbox that mail can
    be sent to: a single ``local@domain`` (email-validator's syntax check), with no name,
    comment, quotes, list of addresses or encoded word. For an address a customer is to prove
    they control: the code must go to that mailbox and no other.

    :raises InvalidIdentifier: if it is anything else.
    """
    email = normalize_email(value)
    if "=?" in email or not email.rpartition("@")[2].isascii():
        # a domain in Unicode is one IDNA refuses, or one old and new IDNA send to different
        # places (:func:`_ascii_domain`): the code could reach someone else's mailbox
        raise InvalidIdentifier("not a single mailbox")
    try:
        # ASCII before the @ (mail servers and Python's mail headers agree on those); any
        # domain that may receive mail (a test or a single-label one too)
        valid = validate_email(
            email, check_deliverability=False, allow_smtputf8=False,
            globally_deliverable=False, test_environment=True,
        )  # fmt: skip
    except EmailNotValidError:
        raise InvalidIdentifier("not a single mailbox") from None
    if _lower(valid.local_part) != email.rpartition("@")[0]:
        # written with look-alike or decomposed characters (NFC makes the Kelvin sign a K)
        raise InvalidIdentifier("not a single mailbox")
    return email


def normalize_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """Return ``value`` as an E.164 phone number (``+31612345678``).

    Numbers without a country code are read in ``region`` (NL by default). A number with an
    extension (``030 2345678 x12``, ``… ext. 12``) is refused: E.164 has no extension, so it
    would come out as the switchboard's number, and one person's line would equal every
    colleague's and the main number itself.

    :raises InvalidIdentifier: if it cannot be parsed or cannot be a phone number.
    """
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("not a phone number") from None
    if number.extension:
        raise InvalidIdentifier("a phone number with an extension")
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentifier("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """The E.164 number ``e164`` as people read it: phonenumbers' international format
    (``+31612345678`` → ``+31 6 12345678``), the way the portal shows a phone number
    everywhere. What cannot be read as a number is returned as it is.
    """
    try:
        number = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def display(kind: str, value: str) -> str:
    """An identifier's stored (normalised) ``value`` as it is shown to people: a phone number
    in :func:`format_phone`'s format, anything else as it is. Stored, compared and exported
    values stay normalised."""
    return format_phone(value) if kind == IdentifierKind.PHONE.value else value


def email_spellings(value: str) -> list[str]:
    """The spellings of the normalised e-mail address ``value`` a system may hold it in, for
    lookups that match the stored string (a search or filter by e-mail address): the ASCII
    form first, then, for an internationalised domain, the domain in Unicode
    (``jan@xn--bcher-kva.nl``, ``jan@bücher.nl``). As with :func:`phone_spellings`, what a
    lookup finds is still compared exactly after normalisation.
    """
    local, _, domain = value.rpartition("@")
    if "xn--" not in domain:
        return [value]
    try:
        unicode = idna.decode(domain)
    except UnicodeError:
        return [value]
    return list(dict.fromkeys([value, f"{local}@{unicode}"]))


def phone_spellings(value: str) -> list[str]:
    """The usual spellings of the E.164 phone number ``value``, E.164 first, for lookups that
    match the stored string (Freshdesk's ``mobile=``/``phone=`` filters, Zammad's ``phone:``
    search, MoneyBird's text search): systems keep a number as it was typed.

    For ``+31612345678``: ``+31612345678``, ``+31 6 12345678``, ``0612345678``,
    ``06 12345678`` and ``06-12345678`` (a landline alike: ``010-1234567``). A number of
    another country is looked up in international spellings only (``+32470123456``,
    ``+32 470 12 34 56``, ``+32 470 123456``): written nationally (``0470 12 34 56``) it reads
    as a Dutch number, so a record holding it could never match and the lookup would be
    wasted. Finding a row by one of these spellings decides nothing: whether it matches is
    still decided by the exact comparison after normalisation.

    :raises InvalidIdentifier: if ``value`` is not a phone number.
    """
    e164 = normalize_phone(value)
    number = phonenumbers.parse(e164)
    fmt = phonenumbers.PhoneNumberFormat
    international = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    national = "".join(re.findall(r"\d", phonenumbers.format_number(number, fmt.NATIONAL)))
    # area code (or mobile prefix) and the rest: "+31 6 12345678" -> "6", "12345678"
    groups = re.findall(r"\d+", international.partition(" ")[2])
    spellings = [e164]
    if len(groups) > 1:
        area, rest = groups[0], "".join(groups[1:])
        spellings.append(f"+{number.country_code} {area} {rest}")
        if national.endswith(area + rest) and _reads_as(national, e164):
            head = national[: len(national) - len(rest)]
            return _unique([*spellings, national, f"{head} {rest}", f"{head}-{rest}"], e164)
    return _unique([*spellings, international], e164)


def _unique(spellings: list[str], e164: str) -> list[str]:
    """``spellings`` that read back as ``e164``, each once, in order."""
    return list(dict.fromkeys(s for s in spellings if _reads_as(s, e164)))


def _reads_as(spelling: str, e164: str) -> bool:
    try:
        return normalize_phone(spelling) == e164
    except InvalidIdentifier:
        return False


def normalize_customer_number(value: str) -> str:
    """Return the customer number trimmed.

    :raises InvalidIdentifier: if nothing is left.
    """
    number = value.strip()
    if not number:
        raise InvalidIdentifier("empty customer number")
    return number


_NORMALIZERS = {
    IdentifierKind.EMAIL: normalize_email,
    IdentifierKind.PHONE: normalize_phone,
    IdentifierKind.CUSTOMER_NUMBER: normalize_customer_number,
    IdentifierKind.ADDRESSEE: normalize_email,
}


def normalize(kind: IdentifierKind | str, value: str) -> str:
    """Normalise ``value`` as an identifier of ``kind``.

    :raises InvalidIdentifier: if the value is not valid for the kind.
    :raises ValueError: if ``kind`` is unknown.
    """
    return _NORMALIZERS[IdentifierKind(kind)](value)


def try_normalize(kind: IdentifierKind | str, value: object) -> str | None:
    """Normalise a vendor value leniently: ``None`` for empty, non-string or invalid values."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return normalize(kind, value)
    except InvalidIdentifier:
        return None


@dataclass(frozen=True, slots=True)
class Identifier:
    """One identifier of a customer, normalised on construction.

    ``Identifier("email", " Sanne@X.NL ")`` equals ``Identifier("email", "sanne@x.nl")``.

    :raises InvalidIdentifier: if ``value`` is not valid for ``kind``.
    :raises ValueError: if ``kind`` is unknown.
    """

    kind: IdentifierKind
    value: str

    def __init__(self, kind: IdentifierKind | str, value: str) -> None:
        kind = IdentifierKind(kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "value", normalize(kind, value))

    def __repr__(self) -> str:
        # Keep personal data out of reprs that may end up in logs or tracebacks.
        return f"Identifier(kind={self.kind.value!r}, value=<redacted>)"


#: Identifier kinds that identify a person on their own. A phone number is weaker: households
#: and companies share one, so it only matches a record that names no other e-mail address.
STRONG_KINDS_ORDER = (IdentifierKind.EMAIL, IdentifierKind.CUSTOMER_NUMBER)
#: The kinds of e-mail address a record may carry: any of them keeps a phone from matching.
EMAIL_KINDS = frozenset({IdentifierKind.EMAIL, IdentifierKind.ADDRESSEE})


@dataclass(frozen=True, slots=True)
class Identity:
    """The verified identifiers of one customer: the only keys a connector may match on."""

    identifiers: frozenset[Identifier]

    def __init__(self, identifiers: Iterable[Identifier]) -> None:
        object.__setattr__(self, "identifiers", frozenset(identifiers))

    @classmethod
    def of(
        cls,
        *,
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        customer_numbers: Iterable[str] = (),
    ) -> Identity:
        """Build an identity from raw values, normalising each.

        :raises InvalidIdentifier: if a value is invalid for its kind.
        """
        return cls(
            [Identifier(IdentifierKind.EMAIL, v) for v in emails]
            + [Identifier(IdentifierKind.PHONE, v) for v in phones]
            + [Identifier(IdentifierKind.CUSTOMER_NUMBER, v) for v in customer_numbers]
        )

    def values(self, kind: IdentifierKind) -> list[str]:
        """Return the normalised values of ``kind``, sorted for a stable request order."""
        return sorted(i.value for i in self.identifiers if i.kind == kind)

    @property
    def kinds(self) -> frozenset[IdentifierKind]:
        """The kinds of identifier this identity holds."""
        return frozenset(i.kind for i in self.identifiers)

    def match(
        self,
        candidates: Iterable[tuple[IdentifierKind, object]],
        contested: Collection[str] = (),
    ) -> Identifier | None:
        """Return the verified identifier that a vendor record's identifying values match.

        ``candidates`` are the record's identifying fields as ``(kind, raw value)`` pairs. Each
        value is normalised like the verified identifiers and compared for equality: no
        substring, prefix or fuzzy comparison. An e-mail or customer number match stands on its
        own; addressees (:attr:`IdentifierKind.ADDRESSEE`) match only all together, on a record
        with no e-mail address of its own whose every addressee is verified. A phone match
        counts only if the record carries no e-mail address of either kind (a verified one of
        its own has matched above); otherwise the number is shared with someone else, or the
        record's mail goes to an address that does not say whose it is. Nor does it count
        for a number in ``contested`` (:meth:`contests`: other records of the same search show
        it is someone else's too).
        Returns ``None`` when nothing matches.
        """
        normalised = [(kind, try_normalize(kind, raw)) for kind, raw in candidates]
        values = [(kind, v) for kind, v in normalised if v is not None]
        verified = self.identifiers
        for kind in STRONG_KINDS_ORDER:
            for k, v in values:
                if k == kind:
                    hit = _lookup(verified, kind, v)
                    if hit is not None:
                        return hit
        own = [v for k, v in values if k == IdentifierKind.EMAIL]
        addressees = sorted({v for k, v in values if k == IdentifierKind.ADDRESSEE})
        if addressees and not own:
            # a record whose mail goes only to the customer's own addresses is theirs
            hits = [_lookup(verified, IdentifierKind.EMAIL, a) for a in addressees]
            if all(hits):
                return hits[0]
        emails = [v for k, v in values if k in EMAIL_KINDS]
        if emails:
            # Every e-mail on the record belongs to someone else (a strong match would have
            # returned above): a shared phone number must not pull this record in.
            return None
        for k, v in values:
            if k == IdentifierKind.PHONE and v not in contested:
                hit = _lookup(verified, k, v)
                if hit is not None:
                    return hit
        return None

    def contests(self, values: Iterable[tuple[IdentifierKind, object]]) -> frozenset[str]:
        """The verified phone numbers that one record (its identifying values, e.g. a row a
        search returned) shows to be someone else's as well: it carries the number with e-mail
        addresses none of which is verified (and no verified customer number). A record with
        that number and no e-mail address cannot be told apart from theirs, so it is not
        matched by it (see :meth:`match`)."""
        phones = {i.value for i in self.identifiers if i.kind == IdentifierKind.PHONE}
        if not phones:
            return frozenset()
        pairs = list(values)
        theirs = {
            v
            for kind, raw in pairs
            if kind in EMAIL_KINDS and (v := try_normalize(kind, raw)) is not None
        }
        if not theirs or theirs & {i.value for i in self.identifiers}:
            return frozenset()
        own = {i.value for i in self.identifiers if i.kind == IdentifierKind.CUSTOMER_NUMBER}
        if own and any(
            kind == IdentifierKind.CUSTOMER_NUMBER and try_normalize(kind, raw) in own
            for kind, raw in pairs
        ):
            return frozenset()  # the customer's own record (an old e-mail address on it)
        numbers = {try_normalize(kind, raw) for kind, raw in pairs if kind == IdentifierKind.PHONE}
        return frozenset(numbers & phones)

    def __repr__(self) -> str:
        return f"Identity(kinds={sorted(k.value for k in self.kinds)})"


def _lookup(verified: frozenset[Identifier], kind: IdentifierKind, value: str) -> Identifier | None:
    for ident in verified:
        if ident.kind == kind and ident.value == value:
            return ident
    return None
