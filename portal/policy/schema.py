"""The firm's privacy policy as typed, validated, immutable data.

The policy file (TOML, see ``instance/policy.example.toml``) is the single source of what the
portal shows and applies: the controller, categories of personal data, purposes and their legal
basis (GDPR art. 6(1)), retention, recipients, sources and the rights offered. Code never
hard-codes any of it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Self

from dateutil.relativedelta import relativedelta
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
#: An address on the web (``https://`` or ``http://``): it becomes a link on pages and in
#: e-mails, where a ``javascript:`` or ``data:`` address would run or show what it holds.
WebAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^(?i:https?)://[^\s\"'<>]+$")
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Text(_Frozen):
    """A text in Dutch and English. Dutch is the firm's first language and is required."""

    nl: NonEmpty
    en: NonEmpty

    def get(self, locale: str) -> str:
        """The text in ``locale`` (``nl`` or ``en``), falling back to Dutch."""
        return self.en if locale.startswith("en") else self.nl


class LegalBasis(StrEnum):
    """GDPR art. 6(1) a-f."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"

    @property
    def article(self) -> str:
        """The article reference, e.g. ``6(1)(b)``."""
        letter = "abcdef"[list(LegalBasis).index(self)]
        return f"6(1)({letter})"


_BASIS_BY_LETTER = {"abcdef"[i]: basis for i, basis in enumerate(LegalBasis)}


class Right(StrEnum):
    """Data subject rights (GDPR art. 15-22 and 7(3), 77)."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"
    WITHDRAW_CONSENT = "withdraw_consent"
    COMPLAINT = "complaint"


class RetentionStart(StrEnum):
    """The event a retention period runs from."""

    #: The record's own creation date (a log line, a recording, a recovery job).
    RECORD_CREATED = "record_created"
    #: The last order the customer placed.
    LAST_ORDER = "last_order"
    #: The end of the fiscal year of the record's date (Dutch fiscal retention, AWR art. 52).
    END_OF_FISCAL_YEAR = "end_of_fiscal_year"
    #: The closing of a support ticket.
    TICKET_CLOSED = "ticket_closed"
    #: The last contact with the customer.
    LAST_CONTACT = "last_contact"
    #: The end of the contract or customer relationship (not visible in a single record).
    END_OF_CONTRACT = "end_of_contract"
    #: The withdrawal of consent.
    CONSENT_WITHDRAWN = "consent_withdrawn"


#: Which date of a gathered record each start event reads, in order of preference.
START_DATE_KEYS: Mapping[RetentionStart, tuple[str, ...]] = {
    RetentionStart.RECORD_CREATED: ("created",),
    RetentionStart.LAST_ORDER: ("last_order", "created"),
    RetentionStart.END_OF_FISCAL_YEAR: ("invoice_date", "created"),
    RetentionStart.TICKET_CLOSED: ("closed",),
    RetentionStart.LAST_CONTACT: ("last_contact", "updated", "created"),
    RetentionStart.END_OF_CONTRACT: (),
    RetentionStart.CONSENT_WITHDRAWN: (),
}

_PERIOD = re.compile(r"^\s*(\d+)\s*(year|years|month|months|week|weeks|day|days)\s*$")


class Period(_Frozen):
    """A calendar duration: ``"7 years"``, ``"24 months"``, ``"30 days"``."""

    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``"<n> years|months|weeks|days"``.

        :raises ValueError: for any other form.
        """
        match = _PERIOD.match(text)
        if not match:
            raise ValueError(
                f'"{text}" is not a period; write e.g. "7 years", "24 months" or "30 days"'
            )
        n, unit = int(match[1]), match[2]
        if unit.startswith("year"):
            return cls(years=n)
        if unit.startswith("month"):
            return cls(months=n)
        if unit.startswith("week"):
            return cls(days=7 * n)
        return cls(days=n)

    def after(self, start: date) -> date:
        """The date this period after ``start``, clamped to the end of a shorter month."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date.fromordinal(date(year, month, day).toordinal() + self.days)

    def before(self, moment: datetime) -> datetime:
        """The moment this period before ``moment`` (calendar months and years)."""
        return moment - relativedelta(years=self.years, months=self.months, days=self.days)

    def describe(self, locale: str) -> str:
        """Human words for the period, e.g. ``7 jaar`` or ``7 years``."""
        nl = locale.startswith("nl")
        parts = []
        for n, (sing_nl, plur_nl, sing_en, plur_en) in (
            (self.years, ("jaar", "jaar", "year", "years")),
            (self.months, ("maand", "maanden", "month", "months")),
            (self.days, ("dag", "dagen", "day", "days")),
        ):
            if n:
                word = (sing_nl if n == 1 else plur_nl) if nl else (sing_en if n == 1 else plur_en)
                parts.append(f"{n} {word}")
        return (" en " if nl else " and ").join(parts) or ("0 dagen" if nl else "0 days")


class Retention(_Frozen):
    """How long a category is kept.

    ``kind``:
    - ``period``: ``period`` after ``starts`` (e.g. 7 years after the end of the fiscal year);
    - ``while_customer``: as long as the person is a customer, plus an optional ``period`` after
      the end of the relationship;
    - ``until_withdrawn``: until consent is withdrawn;
    - ``undecided``: the firm's statement does not say; ``decide`` states what must be decided.
    """

    kind: Literal["period", "while_customer", "until_withdrawn", "undecided"]
    period: Period | None = None
    starts: RetentionStart | None = None
    #: Why this period: a statutory ground (e.g. "art. 52 AWR") or the firm's reasoning.
    ground: Text | None = None
    #: What the firm must still decide (only with ``kind = "undecided"``).
    decide: str | None = None

    @field_validator("period", mode="before")
    @classmethod
    def _parse_period(cls, value: object) -> object:
        return Period.parse(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind == "period" and (self.period is None or self.starts is None):
            raise ValueError('kind "period" needs both "period" and "starts"')
        if self.kind == "undecided" and not self.decide:
            raise ValueError('kind "undecided" needs "decide": what the firm must decide')
        if self.kind != "undecided" and self.decide:
            raise ValueError('"decide" belongs only to kind "undecided"')
        if self.kind == "while_customer" and self.period is not None and self.starts is None:
            object.__setattr__(self, "starts", RetentionStart.END_OF_CONTRACT)
        return self

    @property
    def computable(self) -> bool:
        """Whether a due date can be computed from a record's own dates."""
        return (
            self.kind == "period" and self.starts is not None and bool(START_DATE_KEYS[self.starts])
        )

    def due_date(
        self, dates: Mapping[str, date | datetime], fiscal_year_end: tuple[int, int]
    ) -> date | None:
        """The date a record with these ``dates`` is due to be removed, or None if unknown.

        :param dates: the record's dates by key (``created``, ``invoice_date``, ``closed``, ...).
        :param fiscal_year_end: (month, day) the firm's fiscal year ends on.
        """
        if not self.computable or self.period is None or self.starts is None:
            return None
        for key in START_DATE_KEYS[self.starts]:
            value = dates.get(key)
            if value is None:
                continue
            start = value.date() if isinstance(value, datetime) else value
            try:
                if self.starts is RetentionStart.END_OF_FISCAL_YEAR:
                    month, day = fiscal_year_end
                    year_end = date(start.year, month, day)
                    start = year_end if start <= year_end else date(start.year + 1, month, day)
                return self.period.after(start)
            except (ValueError, OverflowError):
                return None  # past the calendar's end (a "never" date such as 9999-12-31)
        return None


class PrivacyContact(_Frozen):
    name: NonEmpty
    email: EmailStr
    phone: str | None = None
    #: True when this person is a formally appointed data protection officer (art. 37).
    is_dpo: bool = False


class Address(_Frozen):
    street: NonEmpty
    postal_code: NonEmpty
    city: NonEmpty
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "NL"


class Controller(_Frozen):
    """The firm: GDPR art. 13(1)(a)."""

    name: NonEmpty
    trade_names: tuple[NonEmpty, ...] = ()
    address: Address | None = None
    #: Chamber of Commerce (KvK) number: eight digits.
    kvk_number: Annotated[str, StringConstraints(pattern=r"^\d{8}$")] | None = None
    contact_email: EmailStr | None = None
    phone: str | None = None
    website: str | None = None
    privacy_contact: PrivacyContact | None = None
    #: Month and day the fiscal year ends, ``"12-31"`` for a calendar year.
    fiscal_year_end: Annotated[str, StringConstraints(pattern=r"^\d{2}-\d{2}$")] = "12-31"

    @field_validator("fiscal_year_end")
    @classmethod
    def _real_day(cls, value: str) -> str:
        month, day = (int(part) for part in value.split("-"))
        try:
            # A year without 29 February: a fiscal year must end on the same day every year.
            date(2023, month, day)
        except ValueError:
            raise ValueError(
                f'"{value}" is not a day that occurs every year; write month-day, e.g. "12-31"'
            ) from None
        return value

    @property
    def fiscal_year_end_tuple(self) -> tuple[int, int]:
        month, day = self.fiscal_year_end.split("-")
        return int(month), int(day)


class Purpose(_Frozen):
    """Why data is processed, on which legal basis (art. 13(1)(c)-(d))."""

    key: Key
    name: Text
    description: Text | None = None
    legal_basis: LegalBasis
    #: Required with legitimate interests: what the interest is (art. 13(1)(d)).
    legitimate_interest: Text | None = None
    #: Which legal obligation (with ``legal_obligation``), e.g. "art. 52 AWR".
    obligation: Text | None = None
    #: Direct marketing (offers, newsletters): an objection to it is always honoured, with no
    #: reason asked and none weighed (art. 21(2)-(3)).
    direct_marketing: bool = False

    @field_validator("legal_basis", mode="before")
    @classmethod
    def _letter(cls, value: object) -> object:
        if isinstance(value, str) and value.lower() in _BASIS_BY_LETTER:
            return _BASIS_BY_LETTER[value.lower()]
        return value

    @property
    def consent_withdrawable(self) -> bool:
        """Consent can always be withdrawn (art. 7(3)); other bases have no consent to withdraw."""
        return self.legal_basis is LegalBasis.CONSENT

    @property
    def objectable(self) -> bool:
        """Objection (art. 21) applies to processing on legitimate interests, and to direct
        marketing on any basis."""
        return self.legal_basis is LegalBasis.LEGITIMATE_INTERESTS or self.direct_marketing


class Field_(_Frozen):
    """A field of a category, as a customer would recognise it."""

    key: Key
    label: Text
    #: Whether a customer may ask to correct it from the portal.
    correctable: bool = True


class Category(_Frozen):
    """A category of personal data (art. 13(1)(c), 14(1)(d))."""

    key: Key
    name: Text
    description: Text | None = None
    fields: tuple[Field_, ...] = ()
    purposes: tuple[Key, ...] = Field(min_length=1)
    retention: Retention | None = None
    #: Special category data (art. 9) or criminal data (art. 10).
    special: bool = False
    #: Whether the customer must provide it for the contract (art. 13(2)(e)).
    required_for_contract: bool | None = None


RecipientRole = Literal["processor", "controller", "joint_controller", "authority", "other"]


class Recipient(_Frozen):
    """Someone who receives personal data (art. 13(1)(e)-(f))."""

    key: Key
    #: The recipient's name in both languages. A plain string is a proper name that reads the
    #: same in Dutch and English ("Moneybird B.V."); a descriptive name ("Bevoegde
    #: autoriteiten") needs ``{ nl = "…", en = "…" }``.
    name: Text
    role: RecipientRole | None = None
    #: ISO 3166 country code where the data is processed.
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    #: Category keys this recipient receives.
    receives: tuple[Key, ...] = ()
    purpose: Text | None = None
    #: Safeguard for a transfer outside the EEA (art. 46), e.g. standard contractual clauses.
    safeguards: Text | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _same_in_both_languages(cls, value: object) -> object:
        return {"nl": value, "en": value} if isinstance(value, str) else value


class Source(_Frozen):
    """A system the portal gathers from: which connector feeds which categories."""

    key: Key
    #: Connector slug from the registry (``woocommerce``, ``moneybird``, ``files``, ...).
    connector: Key
    name: Text
    categories: tuple[Key, ...] = Field(min_length=1)
    #: Overrides of the connector's default field -> category mapping (``"order.note" = "orders"``).
    field_categories: Mapping[str, Key] = Field(default_factory=dict)
    #: Non-secret connector options (file paths, column mappings). Credentials are deployment
    #: settings, never part of the policy.
    options: Mapping[str, object] = Field(default_factory=dict)
    #: A link to the vendor's own privacy statement or DPA.
    privacy_url: WebAddress | None = None


class Authority(_Frozen):
    name: NonEmpty
    url: WebAddress
    address: str | None = None


class Rights(_Frozen):
    offered: tuple[Right, ...] = Field(min_length=1)
    #: How the firm accepts requests besides the portal (e-mail, post, phone).
    channels: tuple[Literal["portal", "email", "post", "phone"], ...] = ("portal",)
    #: Promise in the statement about the answer time, if shorter than the legal month.
    response_time: Text | None = None
    #: How identity is checked for requests outside the portal.
    identity_check: Text | None = None


class Section(_Frozen):
    """Any further part of the statement (security, cookies, breaches, changes)."""

    key: Key
    title: Text
    body: Text


class OpenQuestion(_Frozen):
    """A gap or vagueness in the firm's statement that the firm must decide."""

    key: NonEmpty
    question: NonEmpty


class PortalRetention(_Frozen):
    """How long the portal keeps its *own* data (GDPR art. 5(1)(c) and (e)), purged daily.

    Every period runs from the moment the data stopped being needed: a sign-in code from its
    expiry, a session from its end, a request from its closing. Written like retention periods
    (``"7 days"``, ``"24 months"``).
    """

    #: Sign-in codes and links, after they expired or were used.
    login_challenges: Period = Field(default_factory=lambda: Period(days=7))
    #: Customer and staff sessions, after they ended.
    sessions: Period = Field(default_factory=lambda: Period(days=30))
    #: Sent e-mail (the row only; its content is erased when sent), and e-mail that could not
    #: be sent (with its content), counted from when it was made.
    sent_mail: Period = Field(default_factory=lambda: Period(days=30))
    #: A phone or customer number staff could not accept, counted from when it was added: the
    #: customer sees it on My account ("not accepted") until then.
    rejected_identifiers: Period = Field(default_factory=lambda: Period(days=90))
    #: A disabled staff member's sign-in secrets (password hash, authenticator secret, recovery
    #: codes, passkeys), counted from disabling: then enabling them again takes a new one-time
    #: password and a new authenticator app. Their name and e-mail address stay as long as the
    #: audit log may name them (``audit_log`` after disabling).
    disabled_staff: Period = Field(default_factory=lambda: Period(days=90))
    #: The receipts of exports a customer made.
    exports: Period = Field(default_factory=lambda: Period(months=12))
    #: A finished request keeps what was asked and the messages this long after it was closed;
    #: then only the anonymised record that it was handled remains (kind, dates, status).
    finished_requests: Period = Field(default_factory=lambda: Period(years=1))
    #: A customer who has not signed in for this long and has no open request is forgotten
    #: (their verified identifiers are deleted; requests stay, anonymised).
    inactive_customers: Period = Field(default_factory=lambda: Period(months=18))
    #: Audit entries, and the anonymised records of handled requests.
    audit_log: Period = Field(default_factory=lambda: Period(years=5))
    #: How the sources answered (no personal data; for the source health page).
    source_log: Period = Field(default_factory=lambda: Period(days=90))

    @field_validator("*", mode="before")
    @classmethod
    def _parse_period(cls, value: object) -> object:
        return Period.parse(value) if isinstance(value, str) else value


class Policy(_Frozen):
    """The whole policy file."""

    schema_version: Literal[1] = 1
    #: Date this version of the statement takes effect.
    effective_date: date | None = None
    controller: Controller
    supervisory_authority: Authority | None = None
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    categories: tuple[Category, ...] = Field(min_length=1)
    recipients: tuple[Recipient, ...] = ()
    sources: tuple[Source, ...] = ()
    rights: Rights
    #: Automated decision-making including profiling (art. 13(2)(f)); ``None`` = not stated.
    automated_decisions: Text | None = None
    sections: tuple[Section, ...] = ()
    open_questions: tuple[OpenQuestion, ...] = ()
    #: How long the portal keeps its own data.
    portal_retention: PortalRetention = Field(default_factory=PortalRetention)

    @model_validator(mode="after")
    def _references(self) -> Self:
        for name, items in (
            ("purposes", self.purposes),
            ("categories", self.categories),
            ("recipients", self.recipients),
            ("sources", self.sources),
        ):
            seen: set[str] = set()
            for index, item in enumerate(items):
                if item.key in seen:
                    raise _RefError(f"{name}[{index}].key", f'duplicate key "{item.key}"')
                seen.add(item.key)
        purposes = {p.key for p in self.purposes}
        categories = {c.key for c in self.categories}
        for i, cat in enumerate(self.categories):
            for p in cat.purposes:
                if p not in purposes:
                    raise _RefError(f"categories[{i}].purposes", f'unknown purpose "{p}"')
        for i, rec in enumerate(self.recipients):
            for c in rec.receives:
                if c not in categories:
                    raise _RefError(f"recipients[{i}].receives", f'unknown category "{c}"')
        for i, src in enumerate(self.sources):
            for c in src.categories:
                if c not in categories:
                    raise _RefError(f"sources[{i}].categories", f'unknown category "{c}"')
            for c in src.field_categories.values():
                if c not in categories:
                    raise _RefError(f"sources[{i}].field_categories", f'unknown category "{c}"')
        return self

    # Lookups used by services and templates -------------------------------------------------

    def category(self, key: str) -> Category | None:
        """The category with ``key``, or None."""
        return next((c for c in self.categories if c.key == key), None)

    def purpose(self, key: str) -> Purpose | None:
        """The purpose with ``key``, or None."""
        return next((p for p in self.purposes if p.key == key), None)

    def purposes_of(self, category: Category) -> list[Purpose]:
        """The purposes a category is processed for, in policy order."""
        return [p for p in self.purposes if p.key in category.purposes]

    def recipients_of(self, category: Category) -> list[Recipient]:
        """The recipients that receive a category."""
        return [r for r in self.recipients if category.key in r.receives]

    def sources_of(self, category: Category) -> list[Source]:
        """The sources that feed a category."""
        return [s for s in self.sources if category.key in s.categories]

    @property
    def transfers_outside_eea(self) -> list[Recipient]:
        """Recipients in a country outside the European Economic Area."""
        return [r for r in self.recipients if r.country and r.country not in EEA]


class _RefError(ValueError):
    """A reference error that knows the key it concerns."""

    def __init__(self, loc: str, message: str) -> None:
        super().__init__(f"{loc}: {message}")


#: EU member states plus Iceland, Liechtenstein and Norway.
EEA = frozenset(
    (
        "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO"
    ).split()
)
