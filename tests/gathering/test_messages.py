"""What a source's outcome means, in the customer's words."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask_babel import force_locale

from connectors import available
from connectors.base import KEPT
from connectors.zammad import PHONE_SEARCH
from portal import PROJECT_ROOT
from portal.gathering import SourceOutcome
from portal.gathering.messages import MISSING_PARTS, outcome_text

#: ``run.related("order_notes", ...)`` in a connector, or ``_with_trash(run, "orders", ...)``
#: (WooCommerce's plain and trash lists under one name): a list that may go missing.
#: Also ``run.each("orders", ...)``: a record of that list that cannot be read.
RELATED = re.compile(r"""(?:\.related\(|\.each\(|_with_trash\(\s*run,)\s*["']([a-z_]+)["']""")


def _related_lists() -> set[str]:
    names: set[str] = set()
    for path in (PROJECT_ROOT / "connectors").glob("*.py"):
        names.update(RELATED.findall(path.read_text(encoding="utf-8")))
    return names | _linked_parts() | _found_parts() | {PHONE_SEARCH}


def _found_parts() -> set[str]:
    """What is missing when a row a search found, of the customer's, cannot be read."""
    return {part for cls in available().values() for part in cls.found_parts.values()}


def _linked_parts() -> set[str]:
    """What the records reached through another system's records are called (``Link.what``),
    and the records the firm keeps, read again by id."""
    return {link.what for cls in available().values() for link in cls.links} | {KEPT}


def test_every_list_a_connector_may_miss_has_words() -> None:
    names = _related_lists()
    assert {"order_notes", "order_accounts", "ticket_articles", "guest_orders"} <= names
    assert "order_payments" in _linked_parts()
    assert {"users", "contacts", "customers"} <= _found_parts()
    assert names <= set(MISSING_PARTS), sorted(names - set(MISSING_PARTS))


@pytest.mark.parametrize("what", sorted(_related_lists()))
def test_a_missing_list_is_named_in_dutch_and_english(app: Flask, what: str) -> None:
    outcome = SourceOutcome(
        "webshop", "woocommerce", "partial", None, None, ((what, "down"),), 1, 0
    )
    with app.test_request_context():
        with force_locale("nl"):
            dutch = outcome_text(outcome)
        with force_locale("en"):
            english = outcome_text(outcome)
    assert "_" not in dutch + english  # no internal name such as order_notes
    assert dutch.startswith("Een deel van de gegevens ontbreekt: ")
    assert english.startswith("Part of the data is missing: ")
    parts = (dutch.split(": ", 1)[1].split(". ")[0], english.split(": ", 1)[1].split(". ")[0])
    assert parts[0] != parts[1], parts  # translated


@pytest.mark.parametrize(
    ("missing", "reasons"),
    [
        (
            (("phone_search", "not_supported"),),
            ["This system cannot be searched by phone number."],
        ),
        (
            (("phone_search", "not_supported"), ("tickets", "timeout")),
            [
                "This system cannot be searched by phone number.",
                "The system did not answer in time.",
            ],
        ),
        (
            (("tickets", "timeout"), ("ticket_articles", "timeout")),
            ["The system did not answer in time."],
        ),
        ((("phone_search", "down"),), ["The system could not be reached."]),
    ],
)
def test_each_reason_a_part_is_missing_is_said_once(
    app: Flask, missing: tuple[tuple[str, str], ...], reasons: list[str]
) -> None:
    """A phone number a help desk cannot be searched by is said in those words; parts missing
    for different reasons give each reason (not the first part's for all)."""
    outcome = SourceOutcome("helpdesk", "zammad", "partial", None, None, missing, 1, 0)
    with app.test_request_context(), force_locale("en"):
        text = outcome_text(outcome)
        parts = ", ".join(sorted({str(MISSING_PARTS[what]) for what, _kind in missing}))
    assert text == f"Part of the data is missing: {parts}. " + " ".join(reasons)
