"""The connector interface: records, configuration, capabilities and the exact-match base class.

A connector answers one question: *given a customer's verified identifiers, what does this
source hold about them?* Every connector subclasses :class:`BaseConnector` and implements two
steps; the base class does the rest:

1. :meth:`BaseConnector.find` yields :class:`Candidate` rows from the vendor's (fuzzy) searches,
   each with its identifying values.
2. The base class keeps a candidate only if one of those values *equals* a verified identifier
   after normalisation (:meth:`connectors.identity.Identity.match`). Everything else is dropped
   here, before anything leaves the connector. A phone number that another row of the same
   searches carries with someone else's e-mail address matches no row without an e-mail
   (:meth:`~connectors.identity.Identity.contests`): it is shared. A row that cannot be read
   (:func:`read_candidate`: no usable id, a field of another type) is dropped as well when its
   identifying values show it is someone else's; only when it is, or may be, the customer's
   is its part (:attr:`BaseConnector.found_parts`) reported missing as bad data, so someone
   else's broken row never fails or narrows the customer's answer.
3. :meth:`BaseConnector.expand` turns a :class:`Match` into :class:`Draft` records: the matched
   row itself plus records fetched by the matched row's id (orders, invoices, tickets ...).
4. The base class finishes each draft into a :class:`Record`: source, category per field (vendor
   defaults, overridable by configuration), the identifier that matched, and dedupes by id.

Related lists that fail (e.g. the notes of one order) are recorded with :meth:`Run.related`; the
result then says which parts are missing instead of looking complete.

Records may name records of *another* system by id (a WooCommerce order names its Mollie
payment). Both sides declare it as data: the naming connector lists :class:`Link` s
(:attr:`BaseConnector.links`), the named one the shape of the ids it can read
(:attr:`BaseConnector.linkable`) and reads one by id (:meth:`BaseConnector.read_linked`).
:func:`connectors.gather.gather` follows the links after the first phase
(:meth:`BaseConnector.linked_ids`, :meth:`BaseConnector.fetch_linked`, which reads a few of
them at once: :attr:`BaseConnector.linked_concurrency`): a linked record is the customer's
because the record naming it matched them exactly, so it carries that record's ``matched`` and
has it as its ``parent``.

Writing back (issue #8) is the other direction: :meth:`BaseConnector.apply_correction` writes one
corrected field, :meth:`BaseConnector.erase` deletes or anonymises one record. What a connector
can write is declared as data (``correctable``, ``erasure``) and read through
:meth:`~BaseConnector.correctable_fields`, :meth:`~BaseConnector.erasure_action` and
:meth:`~BaseConnector.describe_target`. With a verified :class:`Identity` the base class re-reads
the target first and refuses (:class:`~connectors.errors.IdentityMismatch`) unless it still
matches exactly, the same rule as when reading.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

import httpx

from .errors import (
    Answer,
    BadResponse,
    ConnectorError,
    ErrorKind,
    IdentityMismatch,
    NotConfigured,
    NotFound,
    NotSupported,
    RequestRejected,
)
from .http import DEFAULT_TIMEOUT, Deadline, HttpClient, HttpSession, RequestStats, RetryPolicy
from .identity import Identifier, IdentifierKind, Identity, try_normalize
from .parsing import expect_id, json_value, valid_text

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Default policy category keys. A firm's policy file defines categories with these keys; a
#: firm may map fields elsewhere (``categories``) or rename keys (``category_keys``).
CATEGORY_KEYS = (
    "identity",
    "contact",
    "address",
    "customer_account",
    "orders",
    "invoices",
    "payment",
    "support",
    "technical",
)

#: Default time budget of one fetch when the caller passes no deadline.
DEFAULT_BUDGET = 30.0


class Capability(StrEnum):
    """What a connector can do with a source."""

    READ = "read"
    CORRECT = "correct"
    ERASE = "erase"


#: What :meth:`BaseConnector.erase` does to a record type: delete it at the vendor, overwrite
#: its personal fields (the record itself must stay, e.g. an order for the books), or nothing
#: (the vendor offers no way, or the firm's policy keeps the record).
ErasureAction = Literal["delete", "anonymise", "none"]


class FieldKind(StrEnum):
    """The kind of value a correctable field takes."""

    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    ADDRESS = "address"
    """A mapping of address parts (see :attr:`CorrectableField.parts`); a partial update."""


@dataclass(frozen=True)
class CorrectableField:
    """A record field that :meth:`BaseConnector.apply_correction` can write back.

    :ivar kind: the value kind: a string for text, e-mail and phone; a mapping of part -> string
        for an address.
    :ivar api: where the value goes in the vendor's payload (``billing.phone``; for an
        address the object holding the parts, ``billing``, or ``""`` for top-level parts).
    :ivar label: where it is in the vendor's UI below the record (``Billing › Phone``).
    :ivar parts: for an address: the part keys the record's address mapping uses and the
        correction may set (``address_1``, ``postcode`` ...).
    """

    kind: FieldKind
    api: str
    label: str
    parts: tuple[str, ...] = ()


class ErasureOutcome(StrEnum):
    """What :meth:`BaseConnector.erase` achieved."""

    DELETED = "deleted"
    ANONYMISED = "anonymised"
    ALREADY_GONE = "already_gone"
    """The vendor no longer had the record (404/410): nothing left to erase."""
    TRASHED = "trashed"
    """Deleted as far as the vendor's API allows: the record is in the vendor's trash, which
    the vendor empties itself after a while (Freshdesk: 30 days). Until then it still exists
    and can be restored, so a fresh read may still show it (marked as in the trash)."""


@dataclass(frozen=True)
class ConfigField:
    """One configuration key a connector accepts.

    :param key: the key in the connector's config section.
    :param required: whether the connector cannot work without it.
    :param secret: whether the value is a credential (masked in :func:`redacted_config`).
    :param default: the value used when the key is absent.
    :param description: what the key means, for the staff UI and docs.
    """

    key: str
    required: bool = False
    secret: bool = False
    default: Any = None
    description: str = ""


#: Keys every connector accepts in addition to its own ``config_schema``.
COMMON_CONFIG = (
    ConfigField(
        "categories",
        default=None,
        description="Field -> category overrides, e.g. {'order.billing_address': 'address'}. "
        "Keys are 'record_type.field', 'record_type.*', '*.field' or '*'.",
    ),
    ConfigField(
        "category_keys",
        default=None,
        description="Renames of default category keys, e.g. {'payment': 'betaalgegevens'}.",
    ),
    ConfigField("timeout", default=15.0, description="Read timeout of one request, in seconds."),
)


def redacted_config(schema: Iterable[ConfigField], config: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``config`` with the values of secret keys replaced by ``'***'``."""
    secrets = {f.key for f in schema if f.secret}
    return {k: ("***" if k in secrets and v else v) for k, v in config.items()}


def resolve_config(
    vendor: str, schema: Iterable[ConfigField], config: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate ``config`` against ``schema`` (plus :data:`COMMON_CONFIG`) and fill defaults.

    :raises NotConfigured: for an unknown key or a missing required one (named, not echoed).
    """
    fields = {f.key: f for f in (*schema, *COMMON_CONFIG)}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise NotConfigured(f"{vendor}: unknown config keys {unknown}", vendor=vendor)
    resolved: dict[str, Any] = {}
    for key, spec in fields.items():
        value = config.get(key, spec.default)
        if spec.required and (value is None or value == ""):
            raise NotConfigured(f"{vendor}: config key {key!r} is required", vendor=vendor)
        resolved[key] = value
    return resolved


class CategoryMap:
    """Maps ``record_type.field`` to a policy category key.

    Lookup order: configured overrides, then the vendor's defaults; within each, the most
    specific key wins: ``record_type.field``, ``*.field``, ``record_type.*``, ``*``. The result
    is then renamed through ``category_keys``. Unmapped fields fall back to
    ``customer_account``.

    :raises NotConfigured: if overrides are not a mapping of strings to strings.
    """

    FALLBACK = "customer_account"

    def __init__(
        self,
        defaults: Mapping[str, str],
        overrides: Mapping[str, str] | None = None,
        renames: Mapping[str, str] | None = None,
    ):
        for name, mapping in (("categories", overrides), ("category_keys", renames)):
            if mapping is None:
                continue
            if not isinstance(mapping, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in mapping.items()
            ):
                raise NotConfigured(f"config key {name!r} must map strings to strings")
        self._layers = (dict(overrides or {}), dict(defaults))
        self._renames = dict(renames or {})

    def category_for(self, record_type: str, field_name: str) -> str:
        """Return the category key of ``field_name`` on records of ``record_type``."""
        keys = (f"{record_type}.{field_name}", f"*.{field_name}", f"{record_type}.*", "*")
        for layer in self._layers:
            for key in keys:
                if key in layer:
                    return self._renames.get(layer[key], layer[key])
        return self._renames.get(self.FALLBACK, self.FALLBACK)


@dataclass(frozen=True)
class RecordRef:
    """Points at one record in one source: enough to correct or erase it later."""

    source: str
    record_type: str
    record_id: str


@dataclass(frozen=True)
class Record:
    """One record a source holds about the customer.

    :ivar source: the connector instance name (usually the vendor slug, e.g. ``moneybird``).
    :ivar system: the vendor slug (``woocommerce``, ``files`` ...).
    :ivar record_type: e.g. ``customer``, ``order``, ``invoice``, ``ticket``, ``payment``.
    :ivar record_id: the record's id in that system, as a string.
    :ivar link: a URL back to the record (e.g. the vendor's admin page), or ``None``.
    :ivar fields: field name -> JSON-like value; empty values are left out.
    :ivar categories: field name -> policy category key, for every field.
    :ivar dates: dates retention rules need (``created``, ``updated``, ``last_order``,
        ``invoice_date``, ``closed`` ...): aware datetimes or plain dates.
    :ivar matched: the verified identifier through which this record was found; ``None`` for
        a record read by id because the firm keeps it for this customer (:data:`KEPT`).
    :ivar parent: the record this one was fetched through (an order's customer), if any.
    """

    source: str
    system: str
    record_type: str
    record_id: str
    link: str | None
    fields: Mapping[str, Any]
    categories: Mapping[str, str]
    dates: Mapping[str, datetime | date]
    matched: Identifier | None
    parent: RecordRef | None = None

    @property
    def ref(self) -> RecordRef:
        """A :class:`RecordRef` to this record."""
        return RecordRef(self.source, self.record_type, self.record_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings), e.g. for caching or the export."""
        return {
            "source": self.source,
            "system": self.system,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "link": self.link,
            "fields": dict(self.fields),
            "categories": dict(self.categories),
            "dates": {k: v.isoformat() for k, v in self.dates.items()},
            "matched": None
            if self.matched is None
            else {"kind": self.matched.kind.value, "value": self.matched.value},
            "parent": None
            if self.parent is None
            else {
                "source": self.parent.source,
                "record_type": self.parent.record_type,
                "record_id": self.parent.record_id,
            },
        }

    def fields_in(self, category: str) -> dict[str, Any]:
        """Return the fields that belong to ``category``."""
        return {k: v for k, v in self.fields.items() if self.categories.get(k) == category}


@dataclass(frozen=True)
class Candidate:
    """A vendor row found by a (possibly fuzzy) search, not yet known to be the customer's.

    :ivar identifiers: the row's identifying values as ``(kind, raw value)`` pairs; the base
        class normalises and compares them exactly.
    :ivar raw: the vendor payload, handed to :meth:`BaseConnector.expand` on a match.
    """

    record_type: str
    record_id: str
    identifiers: tuple[tuple[IdentifierKind, object], ...]
    raw: Mapping[str, Any]
    #: The row could not be read (no usable id, a field of another type; see
    #: :func:`read_candidate`): ``record_id`` is empty and ``raw`` holds nothing. If it matches,
    #: or may match (:attr:`undecided`), its part is reported missing as bad data; otherwise it
    #: is dropped like any row that does not match.
    unreadable: bool = False
    #: Its identifying values could not be read either: it may be anyone's, the customer's too.
    undecided: bool = False


#: A row's identifying values, as :attr:`Candidate.identifiers` holds them.
Identifiers = tuple[tuple[IdentifierKind, object], ...]


def read_candidate(
    record_type: str,
    row: dict[str, Any],
    identify: Callable[[dict[str, Any]], Iterable[tuple[IdentifierKind, object]]],
    *,
    record_id: Callable[[dict[str, Any]], str] | None = None,
    raw: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
) -> Candidate:
    """A :class:`Candidate` of one row a search returned, that fails nothing when the row is
    malformed.

    A fuzzy search returns other people's rows too, and one of theirs with an id that is no
    id or a field of another type must not fail the customer's source. So the row's
    identifying values are read first (``identify``, which raises
    :class:`~connectors.errors.BadResponse` for a value it cannot read), then its id
    (``record_id``; by default ``expect_id(row, …)``) and its payload (``raw``; by default the
    row). When the id or payload cannot be read, the candidate is :attr:`~Candidate.unreadable`
    (the base class drops it unless it matches); when the identifying values cannot be read,
    it is also :attr:`~Candidate.undecided` (it may be the customer's: reported missing).
    """
    try:
        identifiers = tuple(identify(row))
    except BadResponse:
        return Candidate(record_type, "", (), {}, unreadable=True, undecided=True)
    try:
        found_id = record_id(row) if record_id is not None else expect_id(row, record_type)
        payload = raw(row) if raw is not None else row
    except BadResponse:
        return Candidate(record_type, "", identifiers, {}, unreadable=True)
    return Candidate(record_type, found_id, identifiers, payload)


@dataclass(frozen=True)
class Match:
    """A candidate that matched a verified identifier exactly. Only the base class makes these."""

    candidate: Candidate
    identifier: Identifier

    @property
    def ref_parts(self) -> tuple[str, str]:
        """``(record_type, record_id)`` of the matched row."""
        return self.candidate.record_type, self.candidate.record_id


@dataclass(frozen=True)
class Draft:
    """A record as a connector builds it; the base class adds source, categories and match."""

    record_type: str
    record_id: str
    fields: Mapping[str, Any]
    dates: Mapping[str, datetime | date | None] = field(default_factory=dict)
    link: str | None = None
    parent: tuple[str, str] | None = None


@dataclass(frozen=True)
class MissingPart:
    """A related list that could not be fetched, so the result is partial.

    :ivar what: which list, e.g. ``order_notes`` (no personal data, no ids).
    :ivar kind: why: an :class:`~connectors.errors.ErrorKind`.
    """

    what: str
    kind: ErrorKind


@dataclass(frozen=True)
class Link:
    """Records of ``record_type`` name a record of another system by its id, in ``field``.

    Declared by the connector whose records hold the id (:attr:`BaseConnector.links`); the
    other system's connector says which of its ids it can read by id and what they look like
    (:attr:`BaseConnector.linkable`). The record reached is shown as the customer's because
    the record naming it is: declare a link only on a record type that is the customer's own
    (their order), never on one that holds only their detail in someone else's record (a
    ``billed_order``: someone else's order billed to their address).

    :ivar record_type: the records that hold the id, e.g. ``order``.
    :ivar field: the key in :attr:`Record.fields` that holds it, e.g. ``transaction_id``;
        values that are not of the target's id shape (another payment provider's) are left
        alone.
    :ivar system: the slug of the connector the id belongs to, e.g. ``mollie``.
    :ivar target_type: the record type there, e.g. ``payment``.
    :ivar what: what the linked records are called when they cannot be read (a
        :class:`MissingPart`), e.g. ``order_payments``.
    :ivar hidden_by: the parts of the naming source (:attr:`MissingPart.what`) whose loss
        may hide naming records, e.g. ``("orders", "guest_orders")``: when one is missing,
        so is ``what`` at the target.
    """

    record_type: str
    field: str
    system: str
    target_type: str
    what: str
    hidden_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkedId:
    """A record of another system that one of the customer's records names (see :class:`Link`).

    :ivar system: the slug of the connector to read it from.
    :ivar record_type: its record type there.
    :ivar record_id: its id as found in the naming record (untrusted until the target checks
        it against :attr:`BaseConnector.linkable`).
    :ivar what: the :attr:`Link.what` of the link (:data:`KEPT` for a kept record).
    :ivar via: the record that names it: the linked record's :attr:`Record.parent`; ``None``
        for a kept record.
    :ivar matched: the identifier that record matched: the linked record's too; ``None`` for
        a kept record.
    """

    system: str
    record_type: str
    record_id: str
    what: str
    via: RecordRef | None
    matched: Identifier | None


#: :attr:`LinkedId.what` of the records the firm keeps for a customer by law after erasing the
#: rest (an erasure's decision to keep them, recorded by the portal), read again by id: the
#: records that led to them, such as a web shop order anonymised since, may no longer name
#: them or match the customer (see :func:`connectors.gather.gather`).
KEPT = "kept_records"


#: Error kinds after which a source is not asked for further linked records: it is down,
#: slow, limiting us or refusing our key; asking again for each id would only wait longer.
_SOURCE_WIDE = frozenset(
    {ErrorKind.DOWN, ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED, ErrorKind.AUTH}
)


@dataclass(frozen=True)
class _LinkedRead:
    """The outcome of reading one linked id (see :class:`_LinkedReads`).

    :ivar drafts: what :meth:`BaseConnector.read_linked` yielded, when it did not fail.
    :ivar error: what it raised instead.
    :ivar missing: the lists it read through :meth:`Run.related` that failed.
    :ivar unasked: when the id was never requested: the kind of the failure of the whole
        source that came first; ``None`` when it was requested.
    """

    drafts: tuple[Draft, ...] = ()
    error: Exception | None = None
    missing: tuple[MissingPart, ...] = ()
    unasked: ErrorKind | None = None


class _LinkedReads:
    """Reads the linked ids of one :meth:`BaseConnector.fetch_linked`, a few at once.

    Each worker takes the next id in order, so the ids requested are always the first ones of
    ``todo``. After a failure of the whole source (:data:`_SOURCE_WIDE`), or an error that is
    no :class:`ConnectorError` (a bug), no worker takes another id; reads under way finish.
    Each read has a :class:`Run` of its own (its ``missing`` is a plain list), sharing the
    deadline and the HTTP session, whose counters are thread-safe.
    """

    def __init__(
        self,
        connector: BaseConnector,
        todo: Sequence[LinkedId],
        deadline: Deadline,
        session: HttpSession | None,
    ):
        self._connector = connector
        self._todo = todo
        self._deadline = deadline
        self._session = session
        self._lock = threading.Lock()
        self._next = 0  # the index in todo of the next id to request
        self._stopped: ErrorKind | None = None
        self._reads: list[_LinkedRead | None] = [None] * len(todo)

    def run(self, workers: int) -> list[_LinkedRead]:
        """Read the ids (until the source fails) on at most ``workers`` threads; return the
        outcomes in the order of ``todo``."""
        workers = max(1, min(workers, len(self._todo)))
        if workers == 1:
            self._work()  # in this thread
        else:
            with ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix=f"linked-{self._connector.instance_name}"
            ) as pool:
                for job in [pool.submit(self._work) for _ in range(workers)]:
                    job.result()
        # An id not read was never asked for: the source had been stopped first.
        return [
            read if read is not None else _LinkedRead(unasked=self._stopped or ErrorKind.INTERNAL)
            for read in self._reads
        ]

    def _take(self) -> int | None:
        """The index of the next id to request, or ``None`` when all are taken or stopped."""
        with self._lock:
            if self._stopped is not None or self._next >= len(self._todo):
                return None
            self._next += 1
            return self._next - 1

    def _stop(self, kind: ErrorKind) -> None:
        """Request no further ids."""
        with self._lock:
            if self._stopped is not None:
                return
            self._stopped = kind
            left = len(self._todo) - self._next
        log.info(
            "%s: linked records: %s, the %d ids left are not requested",
            self._connector.instance_name,
            kind.value,
            left,
        )

    def _work(self) -> None:
        while (index := self._take()) is not None:
            read = self._read(self._todo[index])
            self._reads[index] = read  # each index is written by the one worker that took it
            error = read.error
            if isinstance(error, ConnectorError):
                if error.kind in _SOURCE_WIDE:
                    self._stop(error.kind)
            elif error is not None:
                self._stop(ErrorKind.INTERNAL)

    def _read(self, linked: LinkedId) -> _LinkedRead:
        run = Run(Identity(()), self._deadline, self._session)
        try:
            drafts = tuple(self._connector.read_linked(run, linked.record_type, linked.record_id))
        except Exception as error:  # handed back: fetch_linked decides, in the order of todo
            return _LinkedRead(error=error, missing=tuple(run.missing))
        return _LinkedRead(drafts, missing=tuple(run.missing))


@dataclass(frozen=True)
class FetchResult:
    """What :meth:`BaseConnector.fetch` returns.

    :ivar records: the customer's records, deduplicated.
    :ivar missing: related lists that failed; empty when the result is complete.
    :ivar stats: request counters of this fetch.
    :ivar dropped: vendor rows dropped because they did not match exactly.
    :ivar unread: of :meth:`BaseConnector.fetch_linked`: the linked ids the vendor answered
        it does not have (its own 404/410). Whether part is missing is decided over every
        source of the system (:func:`connectors.gather.gather`): another one may hold it.
    """

    records: tuple[Record, ...]
    missing: tuple[MissingPart, ...]
    stats: RequestStats
    dropped: int = 0
    unread: tuple[LinkedId, ...] = ()


@dataclass(frozen=True)
class Health:
    """Result of :meth:`BaseConnector.check`: whether the source answers our credentials."""

    ok: bool
    error_kind: ErrorKind | None
    elapsed: float
    requests: int


class Run:
    """State of one fetch: the identity, the deadline, the HTTP session and missing parts."""

    def __init__(self, identity: Identity, deadline: Deadline, session: HttpSession | None):
        self.identity = identity
        self.deadline = deadline
        self._session = session
        self.missing: list[MissingPart] = []

    @property
    def http(self) -> HttpSession:
        """The HTTP session of this fetch. :raises NotConfigured: for a connector without HTTP."""
        if self._session is None:
            raise NotConfigured("this connector has no HTTP client")
        return self._session

    def related(self, what: str, load: Callable[[], Iterable[T]]) -> list[T]:
        """Load a related list; on a connector error record it as missing and return ``[]``.

        Use it for lists fetched by a matched parent's id (orders, notes, tickets, articles),
        so one failing list makes the result *partial* rather than failing the source.
        ``what`` names the list (``order_notes``) and must not contain personal data.
        """
        try:
            return list(load())
        except ConnectorError as error:
            log.warning("related list %s missing: %s", what, error.kind.value)
            self._missing(MissingPart(what, error.kind))
            return []

    def each(
        self, what: str, rows: Iterable[T], build: Callable[[T], Iterable[Draft]]
    ) -> Iterator[Draft]:
        """The drafts ``build`` makes of each of ``rows``, the records of the related list
        ``what`` (an order with its notes, a ticket with its messages).

        A row that cannot be read (:class:`~connectors.errors.BadResponse`: a date that is
        none, a field of another type) is left out and ``what`` recorded missing as bad data,
        so the other records are still shown and the result says it is partial, instead of
        one broken record failing the whole source.
        """
        for row in rows:
            try:
                drafts = list(build(row))
            except BadResponse:
                log.warning("a record of %s could not be read", what)
                self._missing(MissingPart(what, ErrorKind.BAD_DATA))
                continue
            yield from drafts

    def only_theirs(
        self,
        what: str,
        rows: Iterable[T],
        parent_of: Callable[[T], object],
        parent_id: str,
    ) -> list[T]:
        """The ``rows`` of the list ``what``, asked for by its parent's id (an account's
        orders, a contact's invoices), that name that parent themselves.

        The vendor filters such a list; a filter it ignores (a changed parameter name, a
        plugin or a proxy that drops it) would hand over everyone's rows, and each would be
        shown as the customer's. So each row's own parent field (``parent_of``) must be
        ``parent_id``. A row naming another parent is someone else's: left out, and nothing
        of the customer's is missing. A row naming no parent cannot be told apart from
        someone else's: it is left out too, and ``what`` recorded missing as bad data, so the
        result says it is partial rather than showing it or dropping it silently. Rows left
        out are logged by count only.
        """
        kept: list[T] = []
        foreign = unnamed = 0
        for row in rows:
            parent = parent_of(row)
            if parent is None:
                unnamed += 1
            elif (
                not isinstance(parent, bool)
                and isinstance(parent, str | int)
                and str(parent).strip() == parent_id
            ):
                kept.append(row)
            else:
                foreign += 1
        if foreign:
            log.warning("%d rows of %s named another parent, left out", foreign, what)
        if unnamed:
            log.warning("%d rows of %s named no parent, left out", unnamed, what)
            self.report(what, ErrorKind.BAD_DATA)
        return kept

    def report(self, what: str, kind: ErrorKind) -> None:
        """Record the part ``what`` missing for ``kind``, when it is known without a failing
        request (a search the source cannot do, a row that cannot be read). ``what`` names no
        personal data."""
        self._missing(MissingPart(what, kind))

    def _missing(self, part: MissingPart) -> None:
        if part not in self.missing:  # a second list or record of it
            self.missing.append(part)


@runtime_checkable
class Connector(Protocol):
    """What the registry, the gathering and the portal rely on. :class:`BaseConnector` has it."""

    name: ClassVar[str]
    title: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    identifier_kinds: ClassVar[frozenset[IdentifierKind]]
    config_schema: ClassVar[tuple[ConfigField, ...]]
    links: ClassVar[tuple[Link, ...]]
    linkable: ClassVar[Mapping[str, re.Pattern[str]]]
    instance_name: str

    def can_search(self, identity: Identity) -> bool:
        """Whether any of the identity's kinds can be looked up in this source."""
        ...

    def fetch(self, identity: Identity, *, deadline: Deadline | None = None) -> FetchResult:
        """Return the records this source holds about ``identity``."""
        ...

    def linked_ids(self, records: Iterable[Record]) -> Iterator[LinkedId]:
        """The records of other systems that this source's ``records`` name by id."""
        ...

    def fetch_linked(
        self,
        wanted: Iterable[LinkedId],
        *,
        known: Collection[tuple[str, str]] = (),
        deadline: Deadline | None = None,
    ) -> FetchResult:
        """Read the records of this source that the customer's records elsewhere name."""
        ...

    def check(self, *, deadline: Deadline | None = None) -> Health:
        """Check that the source answers with our credentials."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


#: Separator of the parts of a :meth:`BaseConnector.describe_target` text.
PATH_SEPARATOR = " › "


class BaseConnector(ABC):
    """Base class of every connector; enforces exact matching and builds the records.

    Subclasses set the class attributes, implement :meth:`find`, :meth:`expand` and
    :meth:`probe`, and usually :meth:`make_http`.

    :param config: the connector's config section (see ``config_schema`` and
        :data:`COMMON_CONFIG`).
    :param instance_name: name of this source (defaults to the slug); used as ``Record.source``.
    :param transport: httpx transport for tests.
    :param retry: retry policy (tests pass zero backoff).
    :raises NotConfigured: if the config is invalid.
    """

    #: Slug: module name, registry key and config section (``[connectors.<name>]``).
    name: ClassVar[str]
    #: Human-readable product name (a proper noun, not translated).
    title: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.READ})
    #: Kinds of identifier this source can be searched by.
    identifier_kinds: ClassVar[frozenset[IdentifierKind]] = frozenset({IdentifierKind.EMAIL})
    config_schema: ClassVar[tuple[ConfigField, ...]] = ()
    #: Default ``record_type.field`` -> category mapping (see :class:`CategoryMap`).
    default_categories: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: record type -> field key (as in :attr:`Record.fields`) -> how it is written back.
    correctable: ClassVar[Mapping[str, Mapping[str, CorrectableField]]] = MappingProxyType({})
    #: record type -> what :meth:`erase` does; record types not listed: ``"none"``.
    erasure: ClassVar[Mapping[str, ErasureAction]] = MappingProxyType({})
    #: record type erased by staff (``"none"``) -> a stable code saying how
    #: (:attr:`~connectors.errors.NotSupported.reason`, which the portal words as the steps),
    #: for a record type the vendor's own screens erase in a way its API cannot.
    erased_by_hand: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: Of those, the record types the vendor's screens anonymise (the record stays, without
    #: the person's data): counted, told to the customer and carried out as anonymised.
    anonymised_by_hand: ClassVar[frozenset[str]] = frozenset()
    #: record type -> the fields (keys of :attr:`Record.fields`) that hold personal data: a
    #: record of a type that is anonymised counts as anonymised only once none of them holds
    #: anything but :attr:`erased_values` (:meth:`still_personal`).
    personal_fields: ClassVar[Mapping[str, frozenset[str]]] = MappingProxyType({})
    #: What the vendor's own eraser writes in place of personal data (WordPress:
    #: ``deleted@site.invalid``): such a value is no longer the person's.
    erased_values: ClassVar[frozenset[str]] = frozenset()
    #: Record types the vendor deletes with their parent record (a helpdesk ticket's
    #: messages go when the ticket is deleted; a help desk user's tickets go with the user):
    #: an erasure that deletes the parent needs no step of their own for them, and deletes the
    #: parent only when each of them goes too (:func:`portal.dsr.erasure.decide_all`).
    erased_with_parent: ClassVar[frozenset[str]] = frozenset()
    #: Record types the vendor does not delete with their parent record but ends with it
    #: (a payment provider cancels a customer's subscriptions and revokes their mandates when
    #: the customer is deleted): nothing is erased with the parent, but an erasure deletes the
    #: parent only when each of them is erased too, as for :attr:`erased_with_parent`.
    ended_with_parent: ClassVar[frozenset[str]] = frozenset()
    #: Record types whose presence makes the vendor refuse to delete their parent record
    #: (MoneyBird answers 422 to deleting a contact while invoices or quotes refer to it):
    #: nothing happens to them with the parent, but an erasure deletes the parent only when
    #: each of them is erased too, as for :attr:`erased_with_parent`; while one is kept by
    #: law, the parent is kept with it.
    refuse_parent_deletion: ClassVar[frozenset[str]] = frozenset()
    #: record type of the rows :meth:`find` yields -> the part (:attr:`MissingPart.what`) that
    #: is missing when such a row of the customer's cannot be read (``{"user": "users"}``).
    found_parts: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: record type -> its place in the vendor UI (``Customers``), for :meth:`describe_target`.
    record_places: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: ``record_type.field`` -> UI label of fields that are not correctable (read-only ones).
    field_places: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: record type -> fields copied from another record for context (a contact person's
    #: company): shown, but a correction of them is never asked of this record.
    context_fields: ClassVar[Mapping[str, frozenset[str]]] = MappingProxyType({})
    #: Fields of this source's records that name records of other systems by id.
    links: ClassVar[tuple[Link, ...]] = ()
    #: record type -> the shape of its ids (matched in full) for the record types
    #: :meth:`read_linked` reads by id; an id of another shape is never requested.
    linkable: ClassVar[Mapping[str, re.Pattern[str]]] = MappingProxyType({})
    #: How many records :meth:`fetch_linked` reads at once (its requests in flight to this
    #: source). A connector whose vendor allows fewer concurrent requests lowers it; at 1 they
    #: are read one after another in the calling thread.
    linked_concurrency: ClassVar[int] = 4

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        instance_name: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ):
        self.instance_name = instance_name or self.name
        self.config = resolve_config(self.name, self.config_schema, config)
        self.categories = CategoryMap(
            self.default_categories, self.config["categories"], self.config["category_keys"]
        )
        timeout = self.config["timeout"]
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise NotConfigured(f"{self.name}: config key 'timeout' must be a positive number")
        http_timeout = httpx.Timeout(
            connect=DEFAULT_TIMEOUT.connect,
            read=float(timeout),
            write=DEFAULT_TIMEOUT.write,
            pool=DEFAULT_TIMEOUT.pool,
        )
        self.http: HttpClient | None = self.make_http(
            transport=transport, retry=retry, timeout=http_timeout
        )

    # -- to implement -------------------------------------------------------------------------

    def make_http(
        self,
        *,
        transport: httpx.BaseTransport | None,
        retry: RetryPolicy | None,
        timeout: httpx.Timeout,
    ) -> HttpClient | None:
        """Build this instance's :class:`HttpClient` from ``self.config`` (``None``: no HTTP)."""
        return None

    @abstractmethod
    def find(self, run: Run) -> Iterator[Candidate]:
        """Yield candidate rows for ``run.identity`` from the vendor's searches.

        Search only by identifier kinds in ``identifier_kinds``; the base class decides which
        candidates match. Raise a :class:`ConnectorError` when the lookup itself fails.
        """

    @abstractmethod
    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        """Yield drafts for a matched row: the row itself, then records fetched by its id.

        Load related lists through :meth:`Run.related` so failures make the result partial.
        """

    @abstractmethod
    def probe(self, run: Run) -> None:
        """Make one cheap authenticated request; raise a :class:`ConnectorError` on failure."""

    def read_linked(self, run: Run, record_type: str, record_id: str) -> Iterator[Draft]:
        """Yield drafts for one record read by its id (checked against :attr:`linkable`): the
        record itself first, then any records fetched through it (with their ``parent``).

        Called from several threads at once (:attr:`linked_concurrency`), each read with a
        :class:`Run` of its own on one shared session: keep state in ``run`` (lists through
        :meth:`Run.related`, whose failures become missing parts), never on the connector.

        :raises NotFound: the vendor does not have it (any longer).
        :raises ConnectorError: as :meth:`HttpSession.request`.
        """
        raise NotSupported(
            f"{self.name}: cannot read {record_type} records by id", vendor=self.name
        )

    # -- provided -----------------------------------------------------------------------------

    def can_search(self, identity: Identity) -> bool:
        """Whether any of the identity's kinds can be looked up in this source."""
        return bool(identity.kinds & self.identifier_kinds)

    def fetch(self, identity: Identity, *, deadline: Deadline | None = None) -> FetchResult:
        """Return every record this source holds about ``identity``, matched exactly.

        :raises ConnectorError: when the primary lookup fails (a failing related list is
            reported in :attr:`FetchResult.missing` instead); its ``stats`` are the request
            counters of this fetch up to the failure.
        """
        deadline = deadline or Deadline(DEFAULT_BUDGET)
        session = self.http.session(deadline) if self.http is not None else None
        run = Run(identity, deadline, session)
        try:
            return self._fetch(run, identity, session)
        except ConnectorError as error:
            if session is not None:
                error.stats = session.stats
            raise

    def _fetch(self, run: Run, identity: Identity, session: HttpSession | None) -> FetchResult:
        """The body of :meth:`fetch`."""
        records: list[Record] = []
        seen: set[tuple[str, str]] = set()
        dropped = 0
        # Every row is looked at once, and only those that match are kept (a file may have
        # many): then a phone number that other rows of the searches show to be someone
        # else's too matches none of them.
        contested: set[str] = set()
        candidates: list[Candidate] = []
        for candidate in self.find(run):
            contested |= identity.contests(candidate.identifiers)
            if candidate.undecided or identity.match(candidate.identifiers) is not None:
                candidates.append(candidate)
            else:
                dropped += 1
        for candidate in candidates:
            key = (candidate.record_type, candidate.record_id)
            if key in seen:
                continue  # already emitted, e.g. an account order also found by e-mail search
            matched = identity.match(candidate.identifiers, contested)
            if candidate.unreadable:
                if matched is None and not candidate.undecided:
                    dropped += 1  # someone else's broken row: not the customer's concern
                else:
                    # theirs, or it cannot be told: what it holds is missing, not failed
                    log.warning("%s: a %s found could not be read", self.name, key[0])
                    run.report(self._found_part(key[0]), ErrorKind.BAD_DATA)
                continue
            if matched is None:
                dropped += 1
                continue
            try:
                for draft in self.expand(run, Match(candidate, matched)):
                    draft_key = (draft.record_type, draft.record_id)
                    if draft_key in seen:
                        continue
                    seen.add(draft_key)
                    records.append(self._finish(draft, matched))
            except BadResponse:
                # the customer's own row (or one read through it) cannot be read: what was
                # read of it is shown, the rest is missing
                log.warning("%s: a matched %s could not be read", self.name, key[0])
                run.report(self._found_part(key[0]), ErrorKind.BAD_DATA)
        stats = session.stats if session is not None else RequestStats()
        return FetchResult(tuple(records), tuple(run.missing), stats, dropped)

    def _found_part(self, record_type: str) -> str:
        """The part missing when a found ``record_type`` row of the customer's cannot be read."""
        return self.found_parts.get(record_type, record_type)

    def linked_ids(self, records: Iterable[Record]) -> Iterator[LinkedId]:
        """The records of other systems that ``records`` (this source's, as fetched) name by
        id, through :attr:`links`. Only this source's own records of a linking type count, and
        not one reached through another source's record: links are followed one step."""
        for record in records:
            if record.source != self.instance_name or (
                record.parent is not None and record.parent.source != record.source
            ):
                continue
            for link in self.links:
                if record.record_type != link.record_type:
                    continue
                value = record.fields.get(link.field)
                if isinstance(value, str) and value.strip():
                    yield LinkedId(
                        link.system,
                        link.target_type,
                        value.strip(),
                        link.what,
                        record.ref,
                        record.matched,
                    )

    def fetch_linked(
        self,
        wanted: Iterable[LinkedId],
        *,
        known: Collection[tuple[str, str]] = (),
        deadline: Deadline | None = None,
    ) -> FetchResult:
        """Read the records of this source that the customer's records in other sources name
        by id (:meth:`linked_ids`), one request per record (:meth:`read_linked`), up to
        :attr:`linked_concurrency` of them at once.

        An id is requested once, and only if it has the shape :attr:`linkable` gives for its
        record type (anything else, such as another payment provider's transaction id, is
        left out) and is not in ``known``, the ``(record_type, record_id)`` of the records
        this source already returned. Each record gets the ``matched`` of the record naming it
        and that record as its ``parent``. The records come in the order of ``wanted``, however
        the reads overlapped.

        A failure is a :class:`MissingPart` named by the link's ``what``. The vendor's own
        404 for an id is not decided here but listed in :attr:`FetchResult.unread`: another
        source of the same system (a second Mollie profile) may hold it; if none does, the
        gathering reports the part missing, as the record may still be held where no key of
        ours can read it (Mollie: another website profile, test mode). After a failure of the
        whole source (down, timeout, rate limit, credentials) no further ids are asked for
        (reads already under way finish) and the parts of those not asked for are missing too.
        A list read through a record (:meth:`Run.related`) that fails is a missing part as
        well. Never raises a :class:`ConnectorError`.
        """
        deadline = deadline or Deadline(DEFAULT_BUDGET)
        session = self.http.session(deadline) if self.http is not None else None
        seen = set(known)
        todo: list[LinkedId] = []
        refused = 0
        for linked in wanted:
            shape = self.linkable.get(linked.record_type)
            if linked.system != self.name or shape is None or not shape.fullmatch(linked.record_id):
                refused += 1
                continue
            key = (linked.record_type, linked.record_id)
            if key not in seen:
                seen.add(key)
                todo.append(linked)
        if refused:
            log.info("%s: %d linked ids not of a readable shape, not requested", self.name, refused)
        reads = _LinkedReads(self, todo, deadline, session).run(self.linked_concurrency)
        records: list[Record] = []
        emitted: set[tuple[str, str]] = set(known)
        missing: dict[str, ErrorKind] = {}
        unread: list[LinkedId] = []
        # In the order of `todo`, whichever read finished first: the result of reading them
        # one after another, but for the reads that were under way when the source failed.
        for linked, read in zip(todo, reads, strict=True):
            if read.unasked is not None:  # the source had failed as a whole before its turn
                missing.setdefault(linked.what, read.unasked)
                continue
            for part in read.missing:  # lists read through it (Run.related) that failed
                missing.setdefault(part.what, part.kind)
            error = read.error
            if isinstance(error, NotFound):
                if error.answer is not None and self.gone_answer(error.answer):
                    unread.append(linked)  # maybe another source of the system has it
                else:
                    missing.setdefault(linked.what, error.kind)
                continue
            if isinstance(error, ConnectorError):
                log.warning(
                    "%s: linked %s missing: %s", self.instance_name, linked.what, error.kind.value
                )
                missing.setdefault(linked.what, error.kind)
                continue
            if error is not None:
                raise error  # a bug, not the source's answer: raised as if read here
            for draft in read.drafts:
                key = (draft.record_type, draft.record_id)
                if key in emitted:
                    continue
                emitted.add(key)
                record = self._finish(draft, linked.matched)
                if key == (linked.record_type, linked.record_id) and draft.parent is None:
                    record = replace(record, parent=linked.via)
                records.append(record)
        stats = session.stats if session is not None else RequestStats()
        parts = tuple(MissingPart(what, kind) for what, kind in missing.items())
        return FetchResult(tuple(records), parts, stats, unread=tuple(unread))

    def check(self, *, deadline: Deadline | None = None) -> Health:
        """Check that the source answers our credentials; never raises a ConnectorError."""
        deadline = deadline or Deadline(10.0)
        session = self.http.session(deadline) if self.http is not None else None
        started = time.monotonic()
        try:
            self.probe(Run(Identity(()), deadline, session))
        except ConnectorError as error:
            kind: ErrorKind | None = error.kind
        else:
            kind = None
        return Health(
            ok=kind is None,
            error_kind=kind,
            elapsed=time.monotonic() - started,
            requests=session.stats.requests if session is not None else 0,
        )

    # -- writing back -------------------------------------------------------------------------

    def correctable_fields(self, record_type: str) -> Mapping[str, CorrectableField]:
        """The fields of ``record_type`` records that :meth:`apply_correction` can write.

        Keys are the field keys of :attr:`Record.fields`. Empty without
        :attr:`Capability.CORRECT` or for a record type the vendor cannot change.
        """
        if Capability.CORRECT not in self.capabilities:
            return MappingProxyType({})
        return MappingProxyType(dict(self.correctable.get(record_type, {})))

    def erasure_action(self, record_type: str) -> ErasureAction:
        """What :meth:`erase` does to a ``record_type`` record: delete, anonymise or none."""
        if Capability.ERASE not in self.capabilities:
            return "none"
        return self.erasure.get(record_type, "none")

    def describe_target(self, ref: RecordRef, field_name: str | None = None) -> str:
        """Where a record (and one of its fields) lives in the vendor's UI and API.

        For staff and developers, e.g. ``WooCommerce › Customers › #101 › Billing › Phone
        (API: customers/101 billing.phone)``, so a value can be changed by hand where no API
        allows it. Holds ids and labels only, never a field's value. ``field_name`` may be a
        field key of :attr:`Record.fields` or ``field.part`` for a part of an address.
        """
        self._check_source(ref)
        parts = [self.title, *self.locate(ref)]
        api: str | None = None
        if field_name is not None:
            base, _, part = field_name.partition(".")
            spec = self.correctable.get(ref.record_type, {}).get(base)
            if spec is not None:
                parts.append(spec.label)
                api = spec.api
                if part:
                    parts.append(part.replace("_", " "))
                    api = f"{spec.api}.{part}" if spec.api else part
            else:
                label = self.field_places.get(f"{ref.record_type}.{base}")
                parts.append(label or base)
                if part:
                    parts.append(part.replace("_", " "))
        text = PATH_SEPARATOR.join(parts)
        path = self.api_path(ref)
        if path is None:
            return text
        return f"{text} (API: {path}{' ' + api if api else ''})"

    def locate(self, ref: RecordRef) -> list[str]:
        """The UI path of a record below the product name, e.g. ``["Customers", "#101"]``."""
        place = self.record_places.get(ref.record_type, ref.record_type)
        return [place, f"#{ref.record_id}"]

    def api_path(self, ref: RecordRef) -> str | None:
        """The API path of the record (``customers/101``), or ``None`` without an API."""
        return None

    def apply_correction(
        self,
        ref: RecordRef,
        field_name: str,
        value: object,
        *,
        identity: Identity | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        """Write a corrected field value back to the source.

        ``value`` is a string for text, e-mail and phone fields (``""`` clears the field), and
        a mapping of part -> string for an address (only the given parts change). With
        ``identity``, the record is re-read first and must still match it exactly.

        :raises NotSupported: the connector cannot write this field; or the vendor answered
            without the new value (it ignored the field; ``reason`` :data:`NOT_WRITTEN`).
        :raises RequestRejected: the value has the wrong shape, or the vendor refused it
            (validation error, e-mail taken; :class:`~connectors.errors.RecordRefused`: not
            allowed for this record).
        :raises IdentityMismatch: the record no longer matches ``identity``; nothing written.
        :raises NotFound: the record no longer exists.
        :raises ConnectorError: as :meth:`HttpSession.request` (timeout, auth, rate limit ...).
        """
        spec = self.correctable_fields(ref.record_type).get(field_name)
        if spec is None:
            raise NotSupported(
                f"{self.name}: field {field_name!r} of {ref.record_type} records cannot be "
                "corrected here",
                vendor=self.name,
            )
        self._check_source(ref)
        clean = _checked_value(self.name, field_name, spec, value)
        session = self._write_session(deadline)
        if identity is not None:
            self._guard(session, ref, identity)
        written = self.write_field(session, ref, field_name, clean)
        if written is not None and not same_value(written.get(field_name), clean, spec.kind):
            # The vendor answered 2xx yet kept the old value: it dropped a field it does not
            # take (Rails' and WordPress's unpermitted parameters). Not done: staff do it.
            log.warning(
                "%s: the answer to a correction of %s.%s does not show the new value",
                self.name,
                ref.record_type,
                field_name,
            )
            raise NotSupported(
                f"{self.name}: {ref.record_type}.{field_name} was not written: the vendor's "
                "answer does not show the new value",
                vendor=self.name,
                reason=NOT_WRITTEN,
            )
        log.info("%s: corrected %s.%s of one record", self.name, ref.record_type, field_name)

    def erase(
        self,
        ref: RecordRef,
        *,
        identity: Identity | None = None,
        deadline: Deadline | None = None,
    ) -> ErasureOutcome:
        """Erase (delete or anonymise, see :meth:`erasure_action`) a record at the source.

        Idempotent: a record the vendor no longer has counts as erased
        (:attr:`ErasureOutcome.ALREADY_GONE`), when the vendor's answer says so
        (:meth:`gone_answer`). A vendor that only moves the record to its trash says so
        (:attr:`ErasureOutcome.TRASHED`, also when it was in the trash before). With
        ``identity``, the record is re-read first and must still match it exactly.

        :raises NotSupported: the connector cannot erase records of this type.
        :raises RequestRejected: the vendor refused (e.g. a contact that invoices refer to).
        :raises IdentityMismatch: the record no longer matches ``identity``; nothing erased.
        :raises NotConfigured: a 404 that is not the vendor's "no such record" (a wrong base
            URL, a missing route).
        :raises ConnectorError: as :meth:`HttpSession.request` (timeout, auth, rate limit ...).
        """
        action = self.erasure_action(ref.record_type)
        if action == "none":
            raise NotSupported(
                f"{self.name}: {ref.record_type} records cannot be erased here",
                vendor=self.name,
                reason=self.erased_by_hand.get(ref.record_type),
            )
        self._check_source(ref)
        session = self._write_session(deadline)
        try:
            if identity is not None:
                self._guard(session, ref, identity)
            outcome = self.erase_record(session, ref, action)
        except NotFound as error:
            if error.answer is not None and not self.gone_answer(error.answer):
                # A wrong base URL, a route the vendor does not have, a proxy's page: nothing
                # was erased, and saying "already gone" would close the request for good.
                log.warning(
                    "%s: erasing a %s: %d that is not the vendor's 'no such record'",
                    self.name,
                    ref.record_type,
                    error.answer.status,
                )
                raise NotConfigured(
                    f"{self.name}: {ref.record_type} erasure answered {error.answer.status}, "
                    "not as for a record that is gone: check base_url",
                    vendor=self.name,
                    status=error.answer.status,
                ) from None
            log.info("%s: %s to erase was already gone", self.name, ref.record_type)
            return ErasureOutcome.ALREADY_GONE
        if outcome is not None:
            log.info("%s: one %s erased: %s", self.name, ref.record_type, outcome.value)
            return outcome
        log.info("%s: erased one %s (%s)", self.name, ref.record_type, action)
        return ErasureOutcome.DELETED if action == "delete" else ErasureOutcome.ANONYMISED

    def awaits_purge(self, record: Record) -> bool:
        """Whether ``record``, read after it was erased, is only waiting in the vendor's trash
        to be emptied (:attr:`ErasureOutcome.TRASHED`): erased as far as the API allows. None
        by default."""
        return False

    def still_personal(self, record: Record) -> list[str]:
        """The personal fields (:attr:`personal_fields`) ``record``, read after it was
        anonymised, still holds: none once it is anonymised. Not only the person's e-mail
        address and phone number count: an order's IP address, browser or delivery note is
        theirs too. A record type without declared personal fields cannot be judged, so it is
        never taken for anonymised (``["*"]``: staff check it)."""
        names = self.personal_fields.get(record.record_type)
        if not names:
            return ["*"]
        return sorted(n for n in names if _holds_data(record.fields.get(n), self.erased_values))

    # -- writing back: to implement -----------------------------------------------------------

    def gone_answer(self, answer: Answer) -> bool:
        """Whether a 404/410 ``answer`` met while erasing is the vendor's own "no such record"
        (then the record counts as erased: :attr:`ErasureOutcome.ALREADY_GONE`).

        A 404 also comes from a wrong base URL, a route the vendor does not have or a page in
        front of it; those must fail the erasure. By default no answer counts: a connector
        that erases over HTTP says which of its vendor's answers do.
        """
        return False

    def read_identifiers(
        self, session: HttpSession, ref: RecordRef
    ) -> Iterable[tuple[IdentifierKind, object]]:
        """Re-read the record (or the person it belongs to) and return its identifying values.

        The same values :meth:`find` compares, e.g. a ticket's requester's e-mail.

        :raises NotFound: the record no longer exists.
        """
        raise NotSupported(f"{self.name}: cannot re-read records", vendor=self.name)

    def write_field(
        self, session: HttpSession, ref: RecordRef, field_name: str, value: Any
    ) -> Mapping[str, Any] | None:
        """Send one checked correction to the vendor (``value`` as :meth:`apply_correction`).

        :returns: the record's fields read from the vendor's answer (the vendors answer a
            write with the whole record) as :meth:`expand` reads them, so that
            :meth:`apply_correction` sees whether the new value is there; ``None`` when the
            answer holds no record to check.
        """
        raise NotSupported(f"{self.name}: corrections are not supported", vendor=self.name)

    def erase_record(
        self, session: HttpSession, ref: RecordRef, action: ErasureAction
    ) -> ErasureOutcome | None:
        """Delete or anonymise one record.

        :returns: ``None`` when ``action`` was done as such, or what happened instead when
            that says more (:attr:`ErasureOutcome.TRASHED`).
        :raises NotFound: when it is already gone.
        """
        raise NotSupported(f"{self.name}: erasure is not supported", vendor=self.name)

    # -- writing back: helpers ----------------------------------------------------------------

    def _check_source(self, ref: RecordRef) -> None:
        if ref.source != self.instance_name:
            raise ValueError(f"{self.name}: record ref of source {ref.source!r} given")

    def _write_session(self, deadline: Deadline | None) -> HttpSession:
        if self.http is None:
            raise NotSupported(f"{self.name}: writing is not supported", vendor=self.name)
        return self.http.session(deadline or Deadline(DEFAULT_BUDGET))

    def _guard(self, session: HttpSession, ref: RecordRef, identity: Identity) -> None:
        """Refuse to write unless the record still matches ``identity`` exactly: as when
        reading, a phone number that the source shows to be someone else's too does not."""
        values = list(self.read_identifiers(session, ref))
        matched = identity.match(values)
        if matched is not None and matched.kind is IdentifierKind.PHONE:
            # search by its verified numbers again, as a gathering would, to see which of
            # them are shared; then match as the gathering did
            on_record = {try_normalize(k, v) for k, v in values if k is IdentifierKind.PHONE}
            phones = [
                i for i in identity.identifiers
                if i.kind is IdentifierKind.PHONE and i.value in on_record
            ]  # fmt: skip
            run = Run(Identity(phones), session.deadline, session)
            contested: set[str] = set()
            for candidate in self.find(run):
                contested |= identity.contests(candidate.identifiers)
            matched = None if run.missing else identity.match(values, contested)
        if matched is None:
            raise IdentityMismatch(
                f"{self.name}: {ref.record_type} {ref.record_id} no longer matches the "
                "verified identity",
                vendor=self.name,
            )

    def redacted_config(self) -> dict[str, Any]:
        """This instance's config with secrets masked, for display."""
        return redacted_config(self.config_schema, self.config)

    def close(self) -> None:
        """Close the HTTP client, if any."""
        if self.http is not None:
            self.http.close()

    def __enter__(self) -> BaseConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(instance_name={self.instance_name!r})"

    def _finish(self, draft: Draft, matched: Identifier | None) -> Record:
        fields = {k: json_value(v) for k, v in draft.fields.items() if v not in (None, "", [], {})}
        dates: dict[str, datetime | date] = {}
        for key, value in draft.dates.items():
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            if value is not None:
                dates[key] = value
        parent = RecordRef(self.instance_name, *draft.parent) if draft.parent else None
        return Record(
            source=self.instance_name,
            system=self.name,
            record_type=draft.record_type,
            record_id=valid_text(draft.record_id),
            link=valid_text(draft.link) if draft.link else draft.link,
            fields=fields,
            categories={k: self.categories.category_for(draft.record_type, k) for k in fields},
            dates=dates,
            matched=matched,
            parent=parent,
        )


def _holds_data(value: object, erased: frozenset[str]) -> bool:
    """Whether a field's value still holds something: a non-empty text that is not one of
    ``erased`` (the vendor's word for erased data), in it or in any mapping or list inside."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, Mapping):
        return any(_holds_data(v, erased) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_data(v, erased) for v in value)
    text = str(value).strip()
    return bool(text) and text not in erased


def _checked_value(vendor: str, field_name: str, spec: CorrectableField, value: object) -> Any:
    """``value`` trimmed and checked against ``spec``. :raises RequestRejected: wrong shape."""
    if spec.kind is FieldKind.ADDRESS:
        if (
            not isinstance(value, Mapping)
            or not value
            or not all(k in spec.parts and isinstance(v, str) for k, v in value.items())
        ):
            raise RequestRejected(
                f"{vendor}: {field_name} takes a mapping of {list(spec.parts)} to strings",
                vendor=vendor,
            )
        return {k: v.strip() for k, v in value.items()}
    if not isinstance(value, str):
        raise RequestRejected(f"{vendor}: {field_name} takes a string", vendor=vendor)
    return value.strip()


#: :attr:`~connectors.errors.NotSupported.reason` of a correction the vendor answered without
#: the new value: it ignores the field (MoneyBird's ``email`` since 2016), so staff change it.
NOT_WRITTEN = "not_written"


def same_value(current: Any, wanted: Any, kind: FieldKind | None = None) -> bool:
    """Whether a record's field as read (``current``) shows the value written (``wanted``).

    An address: each part given (a partial update) is there. An e-mail address or phone
    number: equal once normalised as when matching records (a vendor may write an address in
    lower case, a number as +31...). Else the text, without surrounding blanks; an empty or
    missing field is ``""``.
    """
    if isinstance(wanted, Mapping):
        return isinstance(current, Mapping) and all(
            str(current.get(k) or "").strip() == str(v).strip() for k, v in wanted.items()
        )
    identifier = IDENTIFIER_FIELDS.get(kind) if kind is not None else None
    if identifier is not None and isinstance(wanted, str) and wanted.strip():
        now, new = try_normalize(identifier, current), try_normalize(identifier, wanted)
        if now is not None and new is not None:
            return now == new
    return str(current if current is not None else "").strip() == str(wanted).strip()


#: The field kinds that hold an identifier, and which: compared normalised.
IDENTIFIER_FIELDS = {FieldKind.EMAIL: IdentifierKind.EMAIL, FieldKind.PHONE: IdentifierKind.PHONE}


def write_payload(spec: CorrectableField, value: Any) -> dict[str, Any]:
    """The JSON object that sets ``value`` at ``spec.api``.

    ``billing.phone`` becomes ``{"billing": {"phone": value}}``; an address mapping goes into
    the object ``spec.api`` names, or to the top level when it is ``""``.
    """
    if spec.kind is FieldKind.ADDRESS:
        return {spec.api: dict(value)} if spec.api else dict(value)
    payload: Any = value
    for key in reversed(spec.api.split(".")):
        payload = {key: payload}
    return dict(payload)
