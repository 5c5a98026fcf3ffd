"""A request's summary names the kinds of data in words, "other" included."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from portal.dsr.flows import describe
from portal.gathering.presentation import OTHER
from portal.models import RequestKind
from portal.policy import current_policy


def test_data_outside_every_category_is_named_as_on_the_overview(app: Flask) -> None:
    with app.test_request_context():
        policy = current_policy()
        for locale, other, invoices in (
            ("nl", "Overige gegevens", "Facturen"),
            ("en", "Other data", "Invoices"),
        ):
            with force_locale(locale):
                rows = describe(
                    RequestKind.RESTRICTION,
                    {"categories": ["invoices", OTHER]},
                    {"scope": "categories", "ground": "accuracy"},
                    policy,
                    locale,
                )
            kinds = next(row for row in rows if row.anchor == "categories-0")
            assert kinds.values == [invoices, other], locale


def test_a_restriction_staff_entered_for_some_systems_names_them(app: Flask) -> None:
    """Staff enter a restriction from a letter for some systems (as an erasure): the request
    page and the receipt say so and name them, and leave out the reason the letter gives."""
    with app.test_request_context(), force_locale("en"):
        policy = current_policy()
        source = policy.sources[0]
        details = {"scope": "sources", "explanation": "Brief", "entered_by_staff": True}
        rows = describe("restriction", {"sources": [source.key]}, details, policy, "en")
    shown = {row.label: row.values for row in rows}
    assert shown["Which data should we restrict?"] == ["Only the data in some of our systems"]
    assert shown["Which systems?"] == [source.name.get("en")]
    assert "Why should we restrict it?" not in shown
