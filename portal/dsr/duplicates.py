"""A request the customer already has open: told on the form, confirmed before a second one.

A customer may send a kind of request again while one of that kind is still open (withdrawing
the newsletter consent twice, two erasures of everything), usually because they forgot or
did not see it arrive. The form names their open requests of its kind, and a request that
asks for nothing the open one does not already ask is sent only once they confirm it (the
check page offers the open request instead). Requests that ask for something else stay
possible without a question: other fields or values, other systems or kinds of data, other
purposes, another ground, another question.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Customer, DataRequest, RequestKind, RequestStatus
from .services import details_of

#: Statuses of a request that is still open (every status but the final ones).
OPEN_STATUSES = tuple(status.value for status in RequestStatus if not status.final)


def open_of_kind(customer: Customer, kind: RequestKind) -> list[DataRequest]:
    """The customer's open requests of ``kind`` (from the portal, or entered by staff for
    them), newest first."""
    return list(
        db.session.scalars(
            select(DataRequest)
            .where(
                DataRequest.customer_id == customer.id,
                DataRequest.kind == kind.value,
                DataRequest.status.in_(OPEN_STATUSES),
            )
            .order_by(DataRequest.created_at.desc(), DataRequest.id.desc())
        )
    )


def already_asked(
    customer: Customer,
    kind: RequestKind,
    scope: Mapping[str, list[str]],
    details: Mapping[str, Any],
    *,
    key: str | None = None,
) -> DataRequest | None:
    """The customer's open request of ``kind`` that already asks for everything this one
    (``scope`` and ``details``, as :mod:`portal.dsr.flows` builds them and stores them:
    :func:`~portal.dsr.flows.stored`) asks, if any.

    None as well when the form's idempotency ``key`` already made a request asking the same:
    sending it again finds that one (:func:`portal.dsr.services.submit`), it makes no second.
    """
    from .services import asks_the_same

    made = (
        db.session.scalars(
            select(DataRequest).where(
                DataRequest.customer_id == customer.id, DataRequest.idempotency_key == key
            )
        ).one_or_none()
        if key
        else None
    )
    if made is not None and asks_the_same(made, kind, scope, details):
        return None
    for found in open_of_kind(customer, kind):
        # one this page's key made, asking something else, is compared as any other
        if covers(found, scope, details):
            return found
    return None


def covers(found: DataRequest, scope: Mapping[str, list[str]], details: Mapping[str, Any]) -> bool:
    """Whether the open request ``found`` already asks for all that a new request of its kind
    with ``scope`` and ``details`` would. An explanation is no part of what is asked."""
    kind = found.kind_enum
    old_scope = found.scope or {}
    if kind in (RequestKind.OBJECTION, RequestKind.WITHDRAW_CONSENT):
        new = set(scope.get("purposes") or ())
        return bool(new) and new <= set(old_scope.get("purposes") or ())
    if kind is RequestKind.ERASURE:
        return _covers_data(old_scope, scope)
    if kind is RequestKind.RESTRICTION:
        if details.get("ground") != details_of(found).get("ground"):
            return False
        return _covers_data(old_scope, scope)
    if kind is RequestKind.CORRECTION:
        new_items = {_item(item) for item in details.get("items") or ()}
        old_items = {_item(item) for item in details_of(found).get("items") or ()}
        return bool(new_items) and new_items <= old_items
    if kind is RequestKind.QUESTION:
        old = details_of(found)
        return all(_words(details.get(k)) == _words(old.get(k)) for k in ("subject", "question"))
    return False


def _covers_data(old: Mapping[str, list[str]], new: Mapping[str, list[str]]) -> bool:
    """Whether data named by ``old`` (all of it; or some systems; or some kinds of data)
    includes all that ``new`` names."""
    old_sources, old_categories = set(old.get("sources") or ()), set(old.get("categories") or ())
    new_sources, new_categories = set(new.get("sources") or ()), set(new.get("categories") or ())
    if not old_sources and not old_categories:
        return True  # everything
    if new_sources and not new_categories and not old_categories:
        return new_sources <= old_sources
    if new_categories and not new_sources and not old_sources:
        return new_categories <= old_categories
    return False


def _item(item: Mapping[str, Any]) -> tuple[str, ...]:
    """A correction item as what it asks: which field of which record, and the new value (its
    case counts: "de Vries" for "de vries" is a correction of its own)."""
    keys = ("source", "record_type", "record_id", "field")
    return (*(str(item.get(k) or "") for k in keys), " ".join(str(item.get("new") or "").split()))


def _words(value: object) -> str:
    """A text as compared: its words, whatever the spacing and case."""
    return " ".join(str(value or "").split()).casefold()
