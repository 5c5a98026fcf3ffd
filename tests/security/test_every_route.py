"""Who reaches which route, for every rule of the application's URL map: anonymous visitors,
customers, staff who passed only the password, agents and privacy officers.

The routes are listed from ``app.url_map``; a route that is not classified here fails the
suite, so a new route is never left without an access rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from portal.auth import services
from portal.extensions import db

from ..staff.conftest import Browser, Staff, make_staff

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

#: Routes anyone may open.
PUBLIC = {
    "public.home", "public.privacy", "public.set_language", "static", "staff.static",
    "export.schema",
}  # fmt: skip
#: The sign-in steps: open before signing in, each answering for itself.
SIGN_IN = {
    "auth.login", "auth.enter_code", "auth.resend", "auth.link", "auth.logout",
    "staff.login", "staff.second_factor", "staff.enrol", "staff.logout",
    "staff.passkey_sign_in_options", "staff.passkey_sign_in",
}  # fmt: skip
#: Routes for a signed-in customer.
CUSTOMER = {
    "auth.account", "auth.add_identifier", "auth.verify_email", "auth.forget_browser",
    "customer.overview", "customer.category", "customer.record", "customer.gather_again",
    "export.index", "export.download_json", "export.download_csv",
    "requests.index", "requests.new", "requests.send", "requests.detail",
    "requests.received", "requests.add_information", "requests.withdraw",
    "requests.new_correction", "requests.new_erasure", "requests.new_restriction",
    "requests.new_objection", "requests.new_withdrawal", "requests.new_question",
}  # fmt: skip
#: Routes for staff who passed both factors (agents and officers).
STAFF = {
    "staff.dashboard", "staff.account", "staff.recovery_codes", "staff.passkey_options",
    "staff.passkey_add", "staff.passkey_remove", "staff.forget_browser",
    "backoffice.queue_page", "backoffice.request_page", "backoffice.show_data",
    "backoffice.assign", "backoffice.assign_to_me", "backoffice.start",
    "backoffice.withdraw_question", "backoffice.record_answer", "backoffice.note",
    "backoffice.ask_information",
    "backoffice.extend", "backoffice.refuse", "backoffice.lift_restriction",
    "backoffice.close", "backoffice.approve_correction", "backoffice.carry_out_erasure",
    "backoffice.retry_action", "backoffice.confirm_action", "backoffice.keep_until_action",
    "backoffice.new_request", "backoffice.sources",
}  # fmt: skip
#: Routes for privacy officers only.
OFFICER = {
    "staff.staff_list", "staff.staff_new", "staff.staff_role", "staff.staff_enable",
    "staff.staff_disable", "staff.staff_unlock", "staff.staff_reset_second_factor",
    "staff.staff_new_password",
    "backoffice.audit_log", "backoffice.audit_verify", "backoffice.audit_export",
    "backoffice.identifiers_page", "backoffice.approve_identifier_view",
    "backoffice.reject_identifier_view", "backoffice.check_sources",
    "backoffice.correct_received_on",
}  # fmt: skip

#: A value for each URL variable.
VALUES = {
    "reference": "AVG-ZZZZZZZZ", "lang": "en", "category": "contact", "slug": "vraag",
    "token": "x" * 43, "filename": "portal.css", "version": 1,
}  # fmt: skip


def _path(rule: Rule, target_id: int) -> str:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        values[name] = VALUES.get(name, target_id)
    _, path = rule.build(values, append_unknown=False)  # type: ignore[misc]
    return path


def _routes(app: Flask, endpoints: set[str], target_id: int) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in endpoints:
            for method in sorted((rule.methods or set()) & {"GET", "POST"}):
                found.append((method, _path(rule, target_id)))
    return found


def _token(b: Browser, path: str) -> str:
    match = CSRF_RE.search(b.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def _open(b: Browser, method: str, path: str, token: str) -> Any:
    if method == "GET":
        return b.client.get(path)
    return b.client.post(path, data={"csrf_token": token}, headers={"X-CSRFToken": token})


def _customer(app: Flask, ip: str = "10.5.0.1") -> Browser:
    b = Browser(app, ip)
    from flask import session

    with app.test_request_context():
        services.sign_in_with_verified_email("klant@example.nl", "test")
        db.session.commit()
        data = dict(session)
    with b.client.session_transaction() as stored:
        stored.update(data)
    assert b.get("/account").status_code == 200
    return b


@pytest.fixture
def target(app: Flask) -> Staff:
    return make_staff(app, "target@firm.example", "agent", name="Tineke Target")


def test_every_route_has_an_access_rule(app: Flask) -> None:
    known = PUBLIC | SIGN_IN | CUSTOMER | STAFF | OFFICER
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - known == set(), "classify the new routes in this test"
    assert known - endpoints == set(), "routes listed here that no longer exist"


def test_anonymous_visitors_reach_no_customer_or_staff_route(app: Flask, target: Staff) -> None:
    b = Browser(app)
    token = _token(b, "/inloggen")
    refused = []
    for method, path in _routes(app, CUSTOMER, target.id):
        r = _open(b, method, path, token)
        if r.status_code != 302 or not r.headers["Location"].startswith("/inloggen"):
            refused.append((method, path, r.status_code, r.headers.get("Location")))
    for method, path in _routes(app, STAFF | OFFICER, target.id):
        r = _open(b, method, path, token)
        if r.status_code != 303 or r.headers["Location"] != "/beheer/inloggen":
            refused.append((method, path, r.status_code, r.headers.get("Location")))
    assert refused == []


def test_a_customer_reaches_no_staff_route(app: Flask, target: Staff) -> None:
    b = _customer(app)
    token = _token(b, "/account")
    wrong = []
    for method, path in _routes(app, STAFF | OFFICER, target.id):
        r = _open(b, method, path, token)
        body = r.get_data(as_text=True)
        if r.status_code != 303 or r.headers["Location"] != "/beheer/inloggen" or "Tineke" in body:
            wrong.append((method, path, r.status_code, r.headers.get("Location")))
    assert wrong == []


def test_staff_with_only_the_password_reach_nothing_but_the_second_factor(
    app: Flask, officer: Staff, target: Staff
) -> None:
    b = Browser(app)
    assert b.password(officer).status_code == 303
    token = _token(b, "/beheer/tweestaps")
    wrong = []
    for method, path in _routes(app, STAFF | OFFICER, target.id):
        r = _open(b, method, path, token)
        if r.status_code != 303 or r.headers["Location"] != "/beheer/tweestaps":
            wrong.append((method, path, r.status_code, r.headers.get("Location")))
    # nor the customer's pages: a staff session is not a customer's
    for method, path in _routes(app, CUSTOMER, target.id):
        r = _open(b, method, path, token)
        if r.status_code != 302 or not r.headers["Location"].startswith("/inloggen"):
            wrong.append((method, path, r.status_code, r.headers.get("Location")))
    assert wrong == []


def test_an_agent_reaches_no_officer_route(app: Flask, agent: Staff, target: Staff) -> None:
    b = Browser(app)
    assert b.sign_in(agent).status_code == 303
    token = _token(b, "/beheer/account")
    wrong = []
    for method, path in _routes(app, OFFICER, target.id):
        r = _open(b, method, path, token)
        if r.status_code != 403 or "Tineke" in r.get_data(as_text=True):
            wrong.append((method, path, r.status_code))
    assert wrong == []


def test_signed_in_staff_are_not_customers(app: Flask, officer: Staff, target: Staff) -> None:
    b = Browser(app)
    assert b.sign_in(officer).status_code == 303
    token = _token(b, "/beheer/account")
    wrong = []
    for method, path in _routes(app, CUSTOMER, target.id):
        r = _open(b, method, path, token)
        if r.status_code != 302 or not r.headers["Location"].startswith("/inloggen"):
            wrong.append((method, path, r.status_code, r.headers.get("Location")))
    assert wrong == []


REQUIRED_HEADERS = (
    "Content-Security-Policy", "Referrer-Policy", "Permissions-Policy",
    "X-Content-Type-Options", "X-Frame-Options", "Strict-Transport-Security",
)  # fmt: skip


def _header_problems(method: str, path: str, r: Any) -> list[tuple[str, str, str]]:
    problems = [(method, path, h) for h in REQUIRED_HEADERS if h not in r.headers]
    csp = r.headers.get("Content-Security-Policy", "")
    if "unsafe-inline" in csp or "frame-ancestors 'none'" not in csp:
        problems.append((method, path, "csp"))
    cache = r.headers.get("Cache-Control", "")
    endpoint_public = path in ("/", "/privacy", "/taal/en", "/static/portal.css")
    if not endpoint_public and "public" not in cache and "no-store" not in cache:
        problems.append((method, path, f"cache: {cache!r}"))
    r.close()
    return problems


@pytest.mark.parametrize("who", ["anonymous", "customer", "officer"])
def test_every_route_answers_with_the_security_headers(
    app: Flask, officer: Staff, target: Staff, who: str
) -> None:
    if who == "anonymous":
        b, page = Browser(app), "/inloggen"
    elif who == "customer":
        b, page = _customer(app), "/account"
    else:
        b, page = Browser(app), "/beheer/account"
        assert b.sign_in(officer).status_code == 303
    token = _token(b, page)
    problems = []
    every = PUBLIC | SIGN_IN | CUSTOMER | STAFF | OFFICER
    for method, path in _routes(app, every - {"auth.logout", "staff.logout"}, target.id):
        problems += _header_problems(method, path, _open(b, method, path, token))
    for path in ("/bestaat-niet", "/beheer/bestaat-niet"):
        problems += _header_problems("GET", path, b.client.get(path))
    problems += _header_problems("POST", "/privacy", b.client.post("/privacy"))  # 405
    problems += _header_problems("POST", page, b.client.post(page, data={}))  # no CSRF token
    assert problems == []


@pytest.mark.parametrize("who", ["anonymous", "customer", "officer"])
def test_every_post_needs_the_csrf_token_and_our_own_page(
    app: Flask, officer: Staff, target: Staff, who: str
) -> None:
    """No POST route is exempt from the CSRF token (forms, the JSON of the passkey script,
    signing out), and a POST another site's page sends is refused even with a token."""
    if who == "anonymous":
        b, page = Browser(app), "/inloggen"
    elif who == "customer":
        b, page = _customer(app), "/account"
    else:
        b, page = Browser(app), "/beheer/account"
        assert b.sign_in(officer).status_code == 303
    token = _token(b, page)
    wrong = []
    every = PUBLIC | SIGN_IN | CUSTOMER | STAFF | OFFICER
    for method, path in _routes(app, every, target.id):
        if method != "POST":
            continue
        for data, kwargs in (
            ({}, {}),
            ({"csrf_token": "forged"}, {}),
            (None, {"json": {"name": "x"}}),
        ):
            r = b.client.post(path, data=data, **kwargs)
            if r.status_code != 400:
                wrong.append((path, data, kwargs, r.status_code))
        for site in ("cross-site", "same-site"):
            r = b.client.post(
                path, data={"csrf_token": token},
                headers={"X-CSRFToken": token, "Sec-Fetch-Site": site},
            )  # fmt: skip
            if r.status_code != 403:
                wrong.append((path, site, r.status_code))
    assert wrong == []
    assert b.get(page).status_code == 200  # still signed in: no POST did anything
