"""Submitting request forms the way a browser does: form, check page, send."""

from __future__ import annotations

import re
from html.parser import HTMLParser
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
    match = re.search(
        r"/verzoeken/(AVG-[A-Z2-9]{8})/ontvangen(\?zonder_bon=1)?$", response.headers["Location"]
    )
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


class _FormReader(HTMLParser):
    """The forms of a page as a browser sees them: each form's successful controls in tree
    order, and its submit buttons in tree order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "controls": [], "buttons": []}
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "button" and a.get("type", "submit") == "submit":
            self._form["buttons"].append((a.get("name", ""), a.get("value", "")))
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["controls"].append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                self._form["controls"].append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [
                v for v, _ in self._options[:1]
            ]
            self._form["controls"].extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form["controls"].append((self._textarea, "".join(self._text).lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def forms_of(html: str) -> list[dict[str, Any]]:
    """Each form of ``html``: ``action``, ``controls`` [(name, value)] and submit ``buttons``
    [(name, value)], both in tree order."""
    reader = _FormReader()
    reader.feed(html)
    return reader.forms


def form_at(html: str, action: str) -> dict[str, Any]:
    """The one form of ``html`` that posts to ``action`` (its query string aside)."""
    (form,) = [f for f in forms_of(html) if f["action"].split("?")[0] == action]
    return form


def press_enter(html: str, action: str, typed: dict[str, str]) -> list[tuple[str, str]]:
    """What a browser posts when the user types ``typed`` into fields of the form that posts
    to ``action`` and presses Enter in one of them: the form's controls, and its *first*
    submit button in tree order (HTML's implicit submission: "the form's default button")."""
    form = form_at(html, action)
    data = [(n, typed.get(n, v)) for n, v in form["controls"]]
    assert form["buttons"], "a form without a submit button"
    name, value = form["buttons"][0]
    if name:
        data.append((name, value))
    return data
