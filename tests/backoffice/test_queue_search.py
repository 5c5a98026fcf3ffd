"""Finding a request by its reference on the queue (/beheer/verzoeken?reference=...): a GET
form that works without JavaScript, with a label; an exact reference (capitals, spaces and the
``AVG-`` prefix do not matter) goes straight to the request, finished ones too; none found
says so at the field, with what was typed still in it."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from portal.backoffice import queue
from portal.models import RequestKind, RequestStatus

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from ..staff.conftest import Staff, _light_argon2, make_staff  # noqa: F401 - shared fixtures
from .test_queue import (  # noqa: F401 - shared fixtures and helpers
    QUEUE,
    Desk,
    _fresh_simulators,
    _push_request_context,
    customer,
    desk,
    settings_overrides,
    submit,
    text,
)


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")


def english(b: Desk) -> Desk:
    assert b.client.get("/taal/en").status_code == 303
    return b


@pytest.mark.parametrize(
    "typed",
    [
        "{ref}",
        "{lower}",
        "  {ref}  ",
        "avg {body_spaced}",
        "AVG{body}",
        "{body}",
        " {body_lower_spaced} ",
    ],
)
def test_a_reference_goes_straight_to_its_request(app: Flask, agent: Staff, typed: str) -> None:
    reference = submit(app, customer(app))
    body = reference.removeprefix("AVG-")
    query = typed.format(
        ref=reference, lower=reference.lower(), body=body,
        body_spaced=f"{body[:4]} {body[4:]}", body_lower_spaced=f"{body[:4]} {body[4:]}".lower(),
    )  # fmt: skip
    b = desk(app, agent)

    response = b.client.get(QUEUE, query_string={"reference": query})

    assert response.status_code == 303
    assert response.headers["Location"] == f"{QUEUE}/{reference}"
    assert reference in b.page(response.headers["Location"])


def test_a_finished_request_is_found_too(app: Flask, officer: Staff) -> None:
    reference = submit(app, customer(app), status=RequestStatus.DONE)
    b = desk(app, officer)
    assert reference not in b.page(QUEUE)  # the queue shows open requests

    response = b.client.get(QUEUE, query_string={"reference": reference.lower()})

    assert response.headers["Location"] == f"{QUEUE}/{reference}"


@pytest.mark.parametrize("part", ["start", "body_start", "longer"])
def test_only_the_exact_reference_is_found(app: Flask, officer: Staff, part: str) -> None:
    reference = submit(app, customer(app))
    typed = {
        "start": reference[:7], "body_start": reference[4:9], "longer": reference + "X",
    }[part]  # fmt: skip
    b = english(desk(app, officer))

    response = b.client.get(QUEUE, query_string={"reference": typed})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"No request has the reference {typed}." in text(html)
    assert f'<tr id="request-{reference}"' in html  # the queue is shown as it is


def test_none_found_says_so_at_the_field_and_keeps_what_was_typed(
    app: Flask, officer: Staff
) -> None:
    submit(app, customer(app), RequestKind.ERASURE, details={"scope": "all"})
    b = english(desk(app, officer))

    response = b.client.get(QUEUE, query_string={"reference": "avg-zzzz zzzz"})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shown = text(html)
    assert "No request has the reference avg-zzzz zzzz. Check it and try again" in shown
    assert shown.startswith("Error: Requests")  # the page title says so first
    assert 'class="error-summary"' in html and 'href="#reference"' in html
    field = re.search(r'<input[^>]*id="reference"[^>]*>', html)
    assert field is not None
    assert 'value="avg-zzzz zzzz"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)
    assert "reference-error" in field.group(0) and "reference-hint" in field.group(0)


def test_an_empty_search_asks_for_a_reference(app: Flask, officer: Staff) -> None:
    b = english(desk(app, officer))

    response = b.client.get(QUEUE, query_string={"reference": "   "})

    assert response.status_code == 200
    assert "Enter a reference, for example AVG-7KQ2M9XP" in text(response.get_data(as_text=True))


def test_the_search_is_a_labelled_get_form_that_needs_no_script(app: Flask, officer: Staff) -> None:
    b = english(desk(app, officer))
    html = b.page(QUEUE)
    form = re.search(r'<form method="get" action="/beheer/verzoeken"[^>]*role="search".*?</form>',
                     html, re.S)  # fmt: skip
    assert form is not None
    assert '<label for="reference">Reference</label>' in form.group(0)
    assert 'name="reference"' in form.group(0) and 'type="submit"' in form.group(0)
    assert "csrf_token" not in form.group(0) and "<script" not in html
    # without a search the queue shows no error
    assert "error-summary" not in html


def test_typed_references_are_written_as_the_portal_writes_them() -> None:
    assert queue.typed_reference(" avg-7kq2 m9xp ") == "AVG-7KQ2M9XP"
    assert queue.typed_reference("AVG 7KQ2M9XP") == "AVG-7KQ2M9XP"
    assert queue.typed_reference("7kq2m9xp") == "AVG-7KQ2M9XP"
    assert queue.typed_reference("avgkq2m9") == "AVG-AVGKQ2M9"  # a body that starts with AVG
    assert queue.typed_reference("  ") is None
