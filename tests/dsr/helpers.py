"""Submitting request forms the way a browser does: form, check page, send."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import DataRequest

from .conftest import hidden_fields, key_in, page, post, token_in

CHECK_TITLE = "Controleer uw verzoek"


def check(client: FlaskClient, path: str, data: list[tuple[str, str]]) -> str:
    """Fill in the form at ``path`` and return the check page."""
    html = page(client, path)
    fields = [("csrf_token", token_in(html)), ("key", key_in(html)), *data]
    response = post(client, path, fields)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert CHECK_TITLE in text or "Check your request" in text, text[-2000:]
    return text


def send(client: FlaskClient, slug: str, check_page: str) -> Any:
    """Press "Send" on a check page: post its hidden fields to the send route."""
    fields = [("csrf_token", token_in(check_page)), *hidden_fields(check_page)]
    fields = [(n, v) for n, v in fields if n != "csrf_token"] + [
        ("csrf_token", token_in(check_page))
    ]
    return post(client, f"/verzoeken/nieuw/{slug}/versturen", fields)


def reference_of(response: Any) -> str:
    assert response.status_code == 303, response.status_code
    match = re.search(r"/verzoeken/(AVG-[A-Z2-9]{8})/ontvangen$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def stored(app: Flask, reference: str) -> DataRequest:
    with app.app_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        row.events  # noqa: B018 - load before the session closes
        db.session.expunge_all()
        return row


def count_requests(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(DataRequest)) or 0)
