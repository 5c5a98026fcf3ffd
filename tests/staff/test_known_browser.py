"""Someone who knows a staff member's address cannot keep them out of the back office: a
browser where the member completed both sign-in steps keeps its own allowance and is not held
by the lock-out that wrong passwords from elsewhere cause (the staff "known browser" cookie,
:mod:`portal.staff.known_browser`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import time_machine
from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from portal.auth import known_browser as customer_known_browser
from portal.models import utcnow

from .conftest import Browser, Staff, make_staff, member

COOKIE = "portal_staff_browser"
SALT = "portal.staff.known-browser"
WRONG = "not the password at all"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Roomy limits per IP address (strangers here share a few); the real per-account budget
    shape (two limits), tightened: five refusals a minute, like the five of the lock-out."""
    return {
        "login_rate_per_ip": "1000 per minute",
        "login_rate_per_address": "5 per minute;20 per day",
        "code_rate_per_ip": "1000 per minute",
        "code_rate_per_address": "1000 per minute",
    }


def known_browser_of(app: Flask, staff: Staff, ip: str = "10.8.0.1") -> Browser:
    """A browser where ``staff`` signed in (both steps), then signed out."""
    b = Browser(app, ip)
    assert b.sign_in(staff).status_code == 303
    assert b.post("/beheer/uitloggen", page="/beheer/").status_code == 303
    assert b.get("/beheer/").status_code in (302, 303)  # signed out
    assert b.client.get_cookie(COOKIE) is not None  # signing out keeps it: it is the browser's
    return b


def hammer(app: Flask, staff: Staff, times: int = 6) -> list[int]:
    """A stranger types wrong passwords for ``staff``'s address from ever other addresses."""
    return [
        Browser(app, f"10.9.{n // 200}.{n % 200}").password(staff, WRONG).status_code
        for n in range(times)
    ]


def set_cookie_header(response: Any) -> str | None:
    return next((c for c in response.headers.getlist("Set-Cookie") if COOKIE + "=" in c), None)


def payload(b: Browser, name: str = COOKIE) -> Any:
    """What the cookie holds, read as anyone holding it can (without the key)."""
    cookie = b.client.get_cookie(name)
    assert cookie is not None
    ok, data = URLSafeTimedSerializer("not the key").loads_unsafe(cookie.value)
    assert not ok
    return data


def test_a_stranger_locks_out_unknown_browsers_but_not_the_members_known_browser(
    app: Flask, officer: Staff
) -> None:
    known = known_browser_of(app, officer)
    # Five wrong passwords lock the account and use up its shared budget; the sixth is refused.
    assert hammer(app, officer) == [400] * 5 + [429]
    assert member(app, officer.id).is_locked(utcnow())
    assert Browser(app, "10.8.0.2").password(officer).status_code == 429  # any unknown browser
    # The member's own browser: the right password opens the second step, and only that...
    first = known.password(officer)
    assert first.status_code == 303 and first.headers["Location"].endswith("/beheer/tweestaps")
    assert known.get("/beheer/").status_code in (302, 303)
    # ...where a wrong code is refused as ever, but neither counts nor is held by the lock.
    assert known.post("/beheer/tweestaps", code="000000").status_code == 400
    # (a step later than the code of its first sign-in, which is used)
    assert known.post("/beheer/tweestaps", code=officer.code(steps=1)).status_code == 303
    assert known.get("/beheer/").status_code == 200
    # The lock is the other browsers', and stays.
    row = member(app, officer.id)
    assert row.is_locked(utcnow()) and row.failed_attempts == 0
    assert Browser(app, "10.8.0.3").password(officer).status_code == 429


def test_without_the_lock_out_a_known_browser_still_has_a_budget_of_its_own(
    app: Flask, officer: Staff
) -> None:
    known = known_browser_of(app, officer)
    statuses = [known.password(officer, WRONG).status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]
    assert known.password(officer).status_code == 429  # its own budget is gone...
    row = member(app, officer.id)
    assert not row.is_locked(utcnow()) and row.failed_attempts == 0  # ...and only its own
    assert Browser(app, "10.8.0.4").password(officer).status_code == 303


def test_the_cookie_comes_only_after_the_second_step(app: Flask, officer: Staff) -> None:
    b = Browser(app)
    first = b.password(officer)
    assert first.status_code == 303 and set_cookie_header(first) is None
    assert b.post("/beheer/tweestaps", code="000000").status_code == 400
    assert b.client.get_cookie(COOKIE) is None
    # A browser that passed only the password is a stranger to the lock-out.
    assert hammer(app, officer, 5) == [400] * 5
    assert b.post("/beheer/tweestaps", code=officer.code()).status_code == 400
    assert b.client.get_cookie(COOKIE) is None


def test_enrolling_the_authenticator_app_makes_the_browser_known_too(app: Flask) -> None:
    new = make_staff(app, "nieuw@firm.example", "agent", enrolled=False, name="Nina Nieuw")
    b = Browser(app)
    assert b.password(new).headers["Location"].endswith("/beheer/tweestaps/instellen")
    assert b.client.get_cookie(COOKIE) is None
    page = b.get("/beheer/tweestaps/instellen")
    assert page.status_code == 200
    # the secret this browser's enrolment shows (each enrolment has its own)
    shown = re.search(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>', page.text)
    assert shown is not None
    done = b.post(
        "/beheer/tweestaps/instellen", code=pyotp.TOTP(shown.group(1).replace(" ", "")).now()
    )
    assert done.status_code == 200 and set_cookie_header(done) is not None
    assert b.post("/beheer/uitloggen", page="/beheer/account").status_code == 303
    hammer(app, new)
    assert b.password(new).status_code == 303


def test_a_browser_known_for_one_member_gives_nothing_for_another(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    known = known_browser_of(app, officer)
    assert hammer(app, agent)[-1] == 429
    assert known.password(agent).status_code == 429
    assert member(app, agent.id).is_locked(utcnow())


def test_a_changed_expired_or_foreign_cookie_gives_nothing(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    with time_machine.travel(utcnow(), tick=False) as traveller:
        known = known_browser_of(app, officer)
        genuine = known.client.get_cookie(COOKIE).value  # type: ignore[union-attr]
        data = payload(known)
        with app.app_context():
            secret = app.config["SECRET_KEY"]
        hammer(app, officer)
        forged = [
            URLSafeTimedSerializer("another key", salt=SALT).dumps(data),
            # the customer's cookie is signed by the same secret, for another purpose
            URLSafeTimedSerializer(secret, salt=customer_known_browser.SALT).dumps(data),
            genuine[:5] + ("B" if genuine[5] == "A" else "A") + genuine[6:],
        ]
        for value in forged:
            other = Browser(app, "10.8.0.5")
            other.client.set_cookie(COOKIE, value)
            assert other.password(officer).status_code == 429, value
        # The customer's cookie under its own name, made for this browser, gives nothing.
        other = Browser(app, "10.8.0.5")
        other.client.set_cookie(
            customer_known_browser.COOKIE.name,
            URLSafeTimedSerializer(secret, salt=customer_known_browser.SALT).dumps(data),
        )
        assert other.password(officer).status_code == 429
        copied = Browser(app, "10.8.0.5")
        copied.client.set_cookie(COOKIE, genuine)
        assert copied.password(officer).status_code == 303  # the genuine one (can fail)

        # 29 days on, the cookie still counts; after 30 it no longer does.
        traveller.shift(timedelta(days=29))
        hammer(app, officer)
        assert Browser(app, "10.8.0.6").password(officer).status_code == 429
        assert known.password(officer).status_code == 303
        known.client.delete_cookie("portal_session")
        traveller.shift(timedelta(days=1, seconds=1))
        hammer(app, officer)
        assert known.password(officer).status_code == 429


def test_the_cookie_holds_no_address_nor_id_and_is_http_only_and_strict(
    app: Flask, officer: Staff
) -> None:
    b = Browser(app)
    assert b.password(officer).status_code == 303
    header = set_cookie_header(b.post("/beheer/tweestaps", code=officer.code()))
    assert header is not None
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header
    assert f"Max-Age={30 * 24 * 3600}" in header
    assert "Secure" not in header and "Domain" not in header  # the demo on plain http
    value = b.client.get_cookie(COOKIE).value  # type: ignore[union-attr]
    assert "officer" not in value.lower() and "firm" not in value.lower()
    data = payload(b)
    assert officer.email not in str(data) and "officer" not in str(data)
    assert len(data["a"]) == 1 and len(data["a"][0]) == 64 and data["a"][0] != str(officer.id)
    assert str(officer.id) not in data["a"]
    assert len(data["b"]) >= 22  # a random id of this browser
    # Signing in again keeps the browser's id; another member comes first, both are kept.
    assert b.post("/beheer/uitloggen", page="/beheer/").status_code == 303
    agent = make_staff(app, "agent@firm.example", "agent", name="Arie Agent")
    assert b.sign_in(agent).status_code == 303
    again = payload(b)
    assert again["b"] == data["b"] and again["a"][1:] == data["a"]
    assert len(again["a"]) == 2 and again["a"][0] != data["a"][0]


def test_over_https_the_cookie_has_the_host_prefix_and_is_secure(
    app: Flask,  # empties the tables afterwards
    make_app: Callable[..., Flask],
    base_settings: dict[str, object],
    settings_overrides: dict[str, object],
    instance_dir: Path,
) -> None:
    secure = make_app(
        {**base_settings, **settings_overrides, "secure_cookies": True,
         "staff_known_browser_days": 7},
        instance_dir,
    )  # fmt: skip
    officer = make_staff(secure)
    b = Browser(secure)
    base = "https://localhost/beheer"
    assert b.post(base + "/inloggen", email=officer.email, password=officer.password).status_code
    header = set_cookie_header(b.post(base + "/tweestaps", code=officer.code()))
    assert header is not None and header.startswith(f"__Host-{COOKIE}=")
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Strict" in header
    assert "Path=/" in header and "Domain" not in header
    assert f"Max-Age={7 * 24 * 3600}" in header


def test_unlocking_also_clears_the_shared_budget(app: Flask, officer: Staff, agent: Staff) -> None:
    assert hammer(app, agent) == [400] * 5 + [429]
    assert Browser(app, "10.8.0.7").password(agent).status_code == 429
    b = Browser(app, "10.8.0.8")
    assert b.sign_in(officer).status_code == 303
    r = b.post(f"/beheer/medewerkers/{agent.id}/ontgrendelen", page="/beheer/medewerkers")
    assert r.status_code == 303
    assert not member(app, agent.id).is_locked(utcnow())
    assert Browser(app, "10.8.0.9").password(agent).status_code == 303  # no 429 either


def test_unlocking_on_the_command_line_clears_the_shared_budget_too(
    app: Flask, agent: Staff
) -> None:
    assert hammer(app, agent) == [400] * 5 + [429]
    result = app.test_cli_runner().invoke(args=["staff", "unlock", agent.email])
    assert result.exit_code == 0, result.output
    assert Browser(app, "10.8.0.10").password(agent).status_code == 303
    # The budget is whole again, not just the lock lifted: five more refusals before a 429.
    assert hammer(app, agent) == [400] * 5 + [429]


def test_forgetting_the_browser_on_the_account_page_puts_it_back_with_the_others(
    app: Flask, officer: Staff
) -> None:
    """A member who signed in on a borrowed computer lets it forget them: the cookie goes, the
    session stays, and from then on the browser is held by the lock-out like any other."""
    known = Browser(app, "10.8.1.2")
    known.client.set_cookie("portal_lang", "en")
    assert known.sign_in(officer).status_code == 303
    known.client.delete_cookie(COOKIE)
    assert "Forget this browser" not in known.get("/beheer/account").get_data(as_text=True)
    assert known.post("/beheer/uitloggen", page="/beheer/account").status_code == 303
    # After a full sign-in the browser is known again: the button shows.
    assert known.sign_in(officer, steps=1).status_code == 303
    page = known.get("/beheer/account").get_data(as_text=True)
    assert "Forget this browser" in page and 'id="browser"' in page
    forgotten = known.post("/beheer/account/browser-vergeten", page="/beheer/account")
    assert forgotten.status_code == 303
    assert forgotten.headers["Location"].endswith("/beheer/account")
    header = set_cookie_header(forgotten)
    assert header is not None and "Max-Age=0" in header
    assert known.client.get_cookie(COOKIE) is None
    after = known.get("/beheer/account")  # still signed in
    assert after.status_code == 200
    text = after.get_data(as_text=True)
    assert "This browser has been forgotten." in text and "Forget this browser" not in text
    assert known.post("/beheer/uitloggen", page="/beheer/account").status_code == 303
    # A stranger's wrong passwords now keep this browser out too.
    assert hammer(app, officer) == [400] * 5 + [429]
    assert known.password(officer).status_code == 429


def test_forgetting_the_browser_after_its_page_expired_does_nothing_and_asks_again(
    app: Flask, officer: Staff
) -> None:
    known = Browser(app, "10.8.1.3")
    assert known.sign_in(officer).status_code == 303
    known.client.set_cookie("portal_lang", "en")
    old = known.token("/beheer/account")
    with known.client.session_transaction() as session:
        session["csrf_token"] = "a-new-secret-from-another-tab"
    response = known.client.post(
        "/beheer/account/browser-vergeten",
        data={"csrf_token": old},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    assert set_cookie_header(response) is None and known.client.get_cookie(COOKIE) is not None
    page = known.get("/beheer/account").get_data(as_text=True)
    assert "Press the button again if you still want to" in page
    assert "Forget this browser" in page
    # Without the form's token nothing is forgotten either (another site cannot do it).
    refused = known.client.post("/beheer/account/browser-vergeten", data={})
    assert refused.status_code == 400 and known.client.get_cookie(COOKIE) is not None
