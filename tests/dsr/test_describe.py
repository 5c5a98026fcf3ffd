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
