"""What an erasure request (GDPR art. 17) would do, per source, before the customer sends it.

The rule, for each gathered record in the request's scope:

* it is **kept** when one of its categories must be kept by law and its due date is still in
  the future: the category rests on a purpose with legal basis *legal obligation*, or its
  retention names a statutory ground (an article of a law), and the retention's due date of
  that record (:func:`portal.gathering.presentation.due_date`, the last day of its retention
  period) is today or later. It is kept until that date (the latest one, when several
  categories keep it), on the retention's ground or else the obligation of the purpose (art.
  17(3)(b)). When that due date cannot be computed (the record lacks the date it counts from,
  holds one that cannot be read, or the firm has not decided the period yet) the record is
  kept all the same, "until unknown": deleting what the law may require is not undone, and
  staff check the date by hand;
* otherwise it is **deleted** or **anonymised**, as the source's connector does that to records
  of its type (``erasure_action``); ``"none"`` means the connector cannot do it, and our staff
  remove it by hand. Categories kept "while you are a customer" or until consent is
  withdrawn are not kept against an erasure request, which ends both;
* a record whose deletion at its source takes other records along (a help desk user's
  tickets, a payment provider customer's subscriptions: ``erased_with_parent`` and
  ``ended_with_parent`` of the connectors), or is refused while they exist (a bookkeeping
  contact's invoices: ``refuse_parent_deletion``), is deleted only when each of those goes
  too. While one of them is kept, the record is **kept** with it, until the same date; while
  one of them stays otherwise (outside the request's scope, or anonymised), our staff
  **anonymise** the record by hand instead of deleting it (:data:`TAKES_ALONG`). This climbs
  up the records' parents until nothing changes, and looks at all of the customer's records,
  not only those in the request's scope (:func:`decide_all`).

:func:`preview` is pure (the policy, the records, today and a function that says what a
connector does are its only inputs) so it is tested on its own; :func:`connector_actions` gives
that function from the connector registry.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from ..gathering.presentation import due_date
from ..policy.schema import Category, LegalBasis, Policy, Text

Action = Literal["delete", "anonymise", "none"]
#: (source key, record type) -> what the source's connector does to such a record.
ActionOf = Callable[[str, str], Action]
#: (source key, record type) -> whether the source erases such a record with its parent (a
#: helpdesk ticket's messages go when the ticket is deleted), or (for ``taken``) erases or
#: ends it with its parent.
WithParent = Callable[[str, str], bool]

#: Why a record the source's connector would delete is anonymised by hand instead: deleting it
#: would take along records that stay (kept, outside the request, anonymised). Also the
#: reason (:attr:`portal.models.RequestAction.last_error`) of such a step for staff.
TAKES_ALONG = "takes_along"

ACTIONS: tuple[Action, ...] = ("delete", "anonymise", "none")

#: A retention ground that cites an article of a law ("artikel 52 AWR", "art. 7:454 BW",
#: "article 52 of the ... Act") is statutory; the firm's own reasoning is not.
_STATUTORY = re.compile(r"\b(art(ikel|icle)?\.?\s*\d|wettelijk|statutory)", re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    """What happens to one record."""

    #: ``with_parent``: deleted at its source with its parent record, which this erasure
    #: deletes (nothing to do for the record itself).
    action: Literal["keep", "delete", "anonymise", "none", "with_parent"]
    #: The category that keeps it, the date it is kept until and the ground (when kept).
    category: str | None = None
    until: date | None = None
    ground: Text | None = None
    #: Why it differs from what the connector does: :data:`TAKES_ALONG` for a record
    #: anonymised by hand, as deleting it would take along records that stay, or kept with
    #: records below it (and then, when its date comes, anonymised by hand, never deleted).
    reason: str | None = None


@dataclass
class Kept:
    """Records of one source kept because of one category: how many, until when, why."""

    category: str
    name: Text | None
    ground: Text | None
    #: None: at least one of the records has no computable date (staff check it).
    until: date | None
    count: int = 0
    #: The other categories these records hold: kept with them, as the sources keep or
    #: delete whole records (the customer is told).
    also: set[str] = field(default_factory=set)


@dataclass
class SourcePreview:
    """What an erasure does to one source's records."""

    key: str
    name: Text | None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    kept: list[Kept] = field(default_factory=list)

    @property
    def kept_count(self) -> int:
        return sum(k.count for k in self.kept)

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.kept_count


@dataclass
class Preview:
    """The whole preview: per source in the policy's order, and the day it was made."""

    today: date
    sources: list[SourcePreview]
    #: (source key, status) of the sources in scope that did not answer in full: what the
    #: request does there is not in the counts.
    unchecked: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sources)

    def summary(self) -> dict[str, Any]:
        """The preview as JSON-ready data (no personal data: counts, policy keys, dates), for
        the request's details, so staff see what the customer was told."""
        return {
            "made_on": self.today.isoformat(),
            "sources": [
                {
                    "source": s.key,
                    "delete": s.counts["delete"],
                    "anonymise": s.counts["anonymise"],
                    "by_staff": s.counts["none"],
                    "kept": [
                        {
                            "category": k.category,
                            "count": k.count,
                            "until": k.until.isoformat() if k.until else None,
                            "ground": k.ground.model_dump() if k.ground else None,
                            "also": sorted(k.also),
                        }
                        for k in s.kept
                    ],
                }
                for s in self.sources
            ],
            "unchecked": [{"source": key, "status": status} for key, status in self.unchecked],
        }


def statutory(policy: Policy, category: Category) -> Text | None:
    """The ground on which the law makes the firm keep ``category``, or None.

    The retention's own ground when it cites the law, else the obligation of a purpose on
    legal obligation (or its name, if the policy states no obligation text): a ground that
    cites no law is the firm's own reasoning ("after that we delete old customer data"),
    which is no reason to keep data against an erasure request.
    """
    retention = category.retention
    ground = retention.ground if retention is not None else None
    if ground is not None and (_STATUTORY.search(ground.nl) or _STATUTORY.search(ground.en)):
        return ground
    for purpose in policy.purposes_of(category):
        if purpose.legal_basis is LegalBasis.LEGAL_OBLIGATION:
            return purpose.obligation or purpose.name
    return None


def decide(
    policy: Policy,
    record: Mapping[str, Any],
    today: date,
    action_of: ActionOf,
    categories: Iterable[str] | None = None,
) -> Decision:
    """What an erasure does to ``record``.

    The request's ``categories`` decide whether a record is in scope (:func:`in_scope`), not
    what happens to it: the vendors delete or anonymise whole records, so a record that also
    holds data the law makes the firm keep (a payment on an order) is kept, whichever of its
    categories the customer chose (GDPR art. 17(3)(b)). ``categories`` is accepted for the
    callers' convenience and has no effect here.
    """
    del categories
    keep: Decision | None = None
    for key in sorted(set(record.get("categories", {}).values())):
        category = policy.category(key)
        if category is None:
            continue
        ground = statutory(policy, category)
        if ground is None:
            continue
        until = due_date(policy, category, record.get("dates", {}))
        if until is not None and until < today:
            continue  # its last day to keep has passed
        if until is None and _ends_with_the_relationship(category):
            continue  # kept "while you are a customer": nothing to keep against an erasure
        if keep is None or (keep.until is not None and (until is None or until > keep.until)):
            keep = Decision("keep", key, until, ground)
    if keep is not None:
        return keep
    action = action_of(str(record["source"]), str(record["record_type"]))
    return Decision(action if action in ACTIONS else "none")


def _never(source: str, record_type: str) -> bool:
    return False


def record_ref(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """A gathered record's (or its parent's) source, type and id."""
    return (str(record.get("source")), str(record.get("record_type")), str(record.get("record_id")))


def decide_all(
    policy: Policy,
    records: Iterable[Mapping[str, Any]],
    today: date,
    action_of: ActionOf,
    with_parent: WithParent = _never,
    *,
    sources: Sequence[str] = (),
    categories: Sequence[str] = (),
    taken: WithParent | None = None,
) -> list[tuple[Mapping[str, Any], Decision]]:
    """:func:`decide` for each of ``records`` in the request's scope (``sources`` and
    ``categories``, :func:`in_scope`), in their order.

    ``records`` are all of the customer's records (the whole gathering), so that what
    deleting a record takes along at its source is judged on all of them, in scope or not.
    ``taken`` says which records their source erases or ends with their parent (by default
    ``with_parent``): a record is deleted (by the API, or by hand) only when each such record
    below it goes too. When one of them is kept, the record is kept with it, until the
    latest of their dates (an unknown date makes it unknown); when one stays otherwise (out of
    scope, anonymised), the record is anonymised by hand (:data:`TAKES_ALONG`). This climbs
    from parent to parent until nothing changes.

    A record its source cannot erase on its own (``none``) but erases with its parent is
    ``with_parent`` when its parent is deleted: a ticket's messages need no step of their
    own, by hand or otherwise, when the ticket goes."""
    everything = list(records)
    chosen = [record for record in everything if in_scope(record, sources, categories)]
    own = [decide(policy, record, today, action_of) for record in chosen]
    decided = list(own)
    at: dict[tuple[str, str, str], list[int]] = {}
    for i, record in enumerate(chosen):
        at.setdefault(record_ref(record), []).append(i)

    def now(ref: tuple[str, str, str]) -> Decision | None:
        return decided[at[ref][-1]] if ref in at else None

    taken_along = _taken_along(everything, taken or with_parent)
    changed = True
    while changed:  # each pass only moves records from going, to anonymised, to kept (longer)
        changed = False
        for parent_ref, children in taken_along.items():
            for i in at.get(parent_ref, ()):
                if own[i].action not in ("delete", "none", "keep"):
                    continue  # anonymised: nothing is taken along
                decision = _with_children(own[i], [now(child) for child in children])
                if decision != decided[i]:
                    decided[i] = decision
                    changed = True
    result = []
    for record, decision in zip(chosen, decided, strict=True):
        parent = record.get("parent")
        if decision.action == "none" and isinstance(parent, Mapping):
            parent_decision = now(record_ref(parent))
            if (
                parent_decision is not None
                and parent_decision.action == "delete"
                and with_parent(str(record["source"]), str(record["record_type"]))
            ):
                decision = Decision("with_parent")
        result.append((record, decision))
    return result


def _taken_along(
    records: Iterable[Mapping[str, Any]], taken: WithParent
) -> dict[tuple[str, str, str], list[tuple[str, str, str]]]:
    """Per record, the records below it that its source erases or ends with it (a source
    only acts on its own records)."""
    below: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {}
    for record in records:
        parent = record.get("parent")
        if not isinstance(parent, Mapping) or parent.get("source") != record.get("source"):
            continue
        if taken(str(record["source"]), str(record["record_type"])):
            below.setdefault(record_ref(parent), []).append(record_ref(record))
    return below


def _with_children(held: Decision, children: Iterable[Decision | None]) -> Decision:
    """What happens to a record deleted (``held``: ``delete``, ``none``) or kept on its own,
    given what happens to the records its deletion takes along (``None``: not in the
    request). A kept one keeps it (whatever else stays: kept, it takes nothing along)."""
    decision = held
    stays = False
    for child in children:
        if child is None or child.action == "anonymise":
            stays = True  # outside the request, or anonymised: it stays at the source
        elif child.action == "keep":
            if decision.action != "keep":
                decision = replace(child, reason=TAKES_ALONG)  # its category, date and ground
            else:  # the later date; an unknown one makes it unknown (staff date it)
                latest = decision.until and child.until and max(decision.until, child.until)
                decision = replace(decision, until=latest, reason=TAKES_ALONG)
    if decision.action == "keep":
        # Kept with records below it, or while others stay: when its date comes it is never
        # deleted (that would take them along), but anonymised by staff (retention.due_kept).
        return replace(decision, reason=TAKES_ALONG) if stays else decision
    if not stays:
        return decision
    return Decision("anonymise", reason=TAKES_ALONG)


def kept_with(record: Mapping[str, Any], category: str | None) -> set[str]:
    """The other categories a record kept because of ``category`` holds: the sources keep or
    delete whole records, so these are kept with it (the customer is told, before and after)."""
    return set(record.get("categories", {}).values()) - {category}


def _ends_with_the_relationship(category: Category) -> bool:
    """Whether the category is kept only while the person is a customer (the law's claim on
    it rests on other records: the invoice keeps the name on it) or until they withdraw their
    consent: an erasure request ends both. Any other retention of data the law makes us keep
    (a period, or one the firm has not decided yet) keeps the record, with staff to date it
    where its own dates do not tell."""
    retention = category.retention
    return retention is not None and retention.kind in ("while_customer", "until_withdrawn")


def in_scope(record: Mapping[str, Any], sources: Sequence[str], categories: Sequence[str]) -> bool:
    """Whether the request (all data, chosen sources, or chosen categories) covers ``record``."""
    if sources and record.get("source") not in sources:
        return False
    if categories and not set(record.get("categories", {}).values()) & set(categories):
        return False
    return True


def preview(
    policy: Policy,
    records: Iterable[Mapping[str, Any]],
    today: date,
    action_of: ActionOf,
    *,
    sources: Sequence[str] = (),
    categories: Sequence[str] = (),
    outcomes: Iterable[tuple[str, str]] = (),
    with_parent: WithParent = _never,
    taken: WithParent | None = None,
) -> Preview:
    """What erasing the records in scope would do, per source (in the policy's order).

    ``outcomes`` are (source key, status) of the gathering the records come from: a source in
    scope that is not ``complete`` is named in :attr:`Preview.unchecked`, so the customer is
    never shown counts that silently leave a system out.
    """
    names = {s.key: s.name for s in policy.sources}
    order = {s.key: i for i, s in enumerate(policy.sources)}
    per_source: dict[str, SourcePreview] = {}
    decided = decide_all(
        policy, records, today, action_of, with_parent,
        sources=sources, categories=categories, taken=taken,
    )  # fmt: skip
    for record, decision in decided:
        key = str(record["source"])
        source = per_source.setdefault(key, SourcePreview(key, names.get(key)))
        if decision.action == "with_parent":
            source.counts["delete"] += 1  # deleted, with its parent
            continue
        if decision.action != "keep":
            source.counts[decision.action] += 1
            continue
        assert decision.category is not None
        kept = next((k for k in source.kept if k.category == decision.category), None)
        if kept is None:
            category = policy.category(decision.category)
            kept = Kept(
                decision.category, category.name if category else None, decision.ground,
                decision.until,
            )  # fmt: skip
            source.kept.append(kept)
        elif kept.until is not None:
            kept.until = None if decision.until is None else max(kept.until, decision.until)
        kept.count += 1
        kept.also |= kept_with(record, decision.category)
    ordered = sorted(per_source.values(), key=lambda s: order.get(s.key, len(order)))
    unchecked = sorted(
        ((key, status) for key, status in outcomes
         if status != "complete" and (not sources or key in sources)),
        key=lambda item: order.get(item[0], len(order)),
    )  # fmt: skip
    return Preview(today, ordered, unchecked)


def connector_with_parent(policy: Policy) -> WithParent:
    """Whether each source's connector erases a record type with its parent record
    (``erased_with_parent``), from the connector registry; an unknown connector does not."""
    return _declared_below(policy, ("erased_with_parent",))


def connector_taken_with_parent(policy: Policy) -> WithParent:
    """Whether each source's connector erases or ends a record type with its parent record
    (``erased_with_parent`` or ``ended_with_parent``), or its vendor refuses to delete the
    parent while the record exists (``refuse_parent_deletion``), from the connector
    registry; an unknown connector does not. Either way the parent is deleted only when
    each such record goes too."""
    return _declared_below(
        policy, ("erased_with_parent", "ended_with_parent", "refuse_parent_deletion")
    )


def _declared_below(policy: Policy, declarations: Sequence[str]) -> WithParent:
    """Whether a record type is in one of the ``declarations`` (class attributes: sets of
    record types) of its source's connector."""
    from connectors import registry
    from connectors.errors import NotConfigured

    slugs = {s.key: s.connector for s in policy.sources}

    def declared(source: str, record_type: str) -> bool:
        try:
            cls = registry.get(slugs.get(source, source))
        except NotConfigured:
            return False
        return any(record_type in getattr(cls, name, frozenset()) for name in declarations)

    return declared


def connector_actions(policy: Policy) -> ActionOf:
    """What each source's connector does to a record type, from the connector registry.

    A connector without ``erasure_action`` deletes (the default of the interface); an unknown
    connector, or one that cannot say, leaves the record to our staff (``"none"``); a record
    type its staff anonymise in the vendor's screens (``anonymised_by_hand``) is
    ``"anonymise"`` (the step itself is by hand: :mod:`portal.backoffice.actions`).
    """
    from connectors import registry
    from connectors.errors import NotConfigured

    slugs = {s.key: s.connector for s in policy.sources}
    cache: dict[tuple[str, str], Action] = {}

    def action_of(source: str, record_type: str) -> Action:
        if (source, record_type) in cache:
            return cache[(source, record_type)]
        action: Action = "none"
        try:
            cls = registry.get(slugs.get(source, source))
        except NotConfigured:
            cls = None
        if cls is not None:
            method = getattr(cls, "erasure_action", None)
            if method is None:
                action = "delete"
            else:
                static = inspect.getattr_static(cls, "erasure_action", None)
                bound = isinstance(static, classmethod | staticmethod)
                try:
                    # Declared as data on the class (``erasure``, ``capabilities``): no
                    # connector instance (and no credentials) is needed to read it.
                    result = method(record_type) if bound else method(cls, record_type)
                except (TypeError, AttributeError):
                    result = "none"
                action = result if result in ACTIONS else "none"
                if action == "none" and record_type in getattr(cls, "anonymised_by_hand", ()):
                    action = "anonymise"  # by staff, in the vendor's screens: it stays
        cache[(source, record_type)] = action
        return action

    return action_of
