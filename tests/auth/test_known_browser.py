"""A browser where someone signed in with an address keeps its own allowance under that
address's rate limits: a stranger who asks codes for the address cannot lock its owner out
(the "known browser" cookie, :mod:`portal.auth.known_browser`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from portal.auth import known_browser, services
from portal.models import utcnow

COOKIE = "portal_known_browser"
OWNER = "eigenaar@example.nl"


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (see tests/auth/conftest.py)."""


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object]) -> dict[str, object]:
    """Roomy limits per IP address (strangers here share one); tight ones per address."""
    return {
        **smtp_overrides,
        "login_rate_per_address": "3 per minute",
        "code_rate_per_address": "3 per minute",
    }


def browser(app: Flask, ip: str = "10.7.0.1") -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def ask(client: FlaskClient, forms: Any, email: str, base: str = "") -> int:
    status: int = forms.post(client, base + "/inloggen", email=email).status_code
    return status


def sign_in(client: FlaskClient, forms: Any, mailbox: Any, email: str, base: str = "") -> Any:
    """Ask a code for ``email`` and enter it; the answer to entering it."""
    before = len(mailbox.messages)
    assert ask(client, forms, email, base) == 303
    code = mailbox.code_in(mailbox.wait_for(before + 1)[-1])
    response = forms.post(client, base + "/inloggen/code", code=code)
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    return response


def sign_out(client: FlaskClient, forms: Any) -> None:
    assert forms.post(client, "/account", "/uitloggen").status_code == 303
    assert client.get("/account").status_code == 302


def known_browser_of(app: Flask, forms: Any, mailbox: Any, email: str = OWNER) -> FlaskClient:
    """A browser in which someone signed in with ``email``, then signed out."""
    client = browser(app)
    sign_in(client, forms, mailbox, email)
    sign_out(client, forms)
    return client


def use_up(app: Flask, forms: Any, email: str) -> None:
    """A stranger asks codes for ``email`` until its shared allowance is gone."""
    stranger = browser(app, "10.7.9.9")
    for _ in range(4):
        if ask(stranger, forms, email) == 429:
            return
    raise AssertionError("the shared allowance was never used up")


def after_a_stranger(app: Flask, forms: Any, client: FlaskClient, email: str) -> int:
    """What ``client`` gets asking a code for ``email`` once a stranger has used up the
    address's shared allowance."""
    use_up(app, forms, email)
    return ask(client, forms, email)


def set_cookie_header(response: Any) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if COOKIE + "=" in c)


def payload(client: FlaskClient) -> Any:
    """What the cookie holds, read as anyone holding it can (without the key)."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    ok, data = URLSafeTimedSerializer("not the key").loads_unsafe(cookie.value)
    assert not ok  # the signature is not ours to make
    return data


def address_hash(app: Flask, email: str) -> str:
    with app.app_context():
        return services.email_hash(email)


def test_a_stranger_locks_out_unknown_browsers_but_not_the_owners(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    owner = known_browser_of(app, forms, mailbox)
    assert owner.get_cookie(COOKIE) is not None  # signing out keeps it: it is the browser's
    # The stranger asks a code for the owner's address and types wrong codes in their own
    # browser, until both shared allowances of the address are gone.
    stranger = browser(app, "10.7.9.9")
    assert ask(stranger, forms, OWNER) == 303
    wrong = [forms.post(stranger, "/inloggen/code", code="000000").status_code for _ in range(3)]
    assert wrong == [400, 400, 429]
    use_up(app, forms, OWNER)
    assert ask(browser(app, "10.7.0.2"), forms, OWNER) == 429  # any unknown browser
    # The owner's browser has an allowance of its own, code entering included...
    sign_in(owner, forms, mailbox, OWNER)
    assert owner.get("/account").status_code == 200
    sign_out(owner, forms)
    # ...under the same limits: 3 codes a minute asked for here, the sign-in's one included.
    assert [ask(owner, forms, OWNER) for _ in range(3)] == [303, 303, 429]


def test_a_browser_known_for_one_address_has_no_own_allowance_for_another(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    owner = known_browser_of(app, forms, mailbox)
    use_up(app, forms, "buurman@example.nl")
    use_up(app, forms, OWNER)
    assert ask(owner, forms, "buurman@example.nl") == 429
    assert ask(owner, forms, OWNER) == 303


def test_the_link_makes_the_browser_known_too(app: Flask, forms: Any, mailbox: Any) -> None:
    owner = browser(app)
    assert ask(owner, forms, OWNER) == 303
    link = mailbox.link_in(mailbox.last()).removeprefix("http://127.0.0.1:5000")
    response = forms.post(owner, link)
    assert response.status_code == 303 and COOKIE + "=" in set_cookie_header(response)
    sign_out(owner, forms)
    assert after_a_stranger(app, forms, owner, OWNER) == 303


def test_the_cookie_holds_no_address_and_is_http_only_for_the_whole_site(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    owner = browser(app)
    header = set_cookie_header(sign_in(owner, forms, mailbox, OWNER))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert f"Max-Age={90 * 24 * 3600}" in header
    assert "Secure" not in header and "Domain" not in header  # the demo on plain http
    value = owner.get_cookie(COOKIE).value  # type: ignore[union-attr]
    assert "eigenaar" not in value.lower() and "example" not in value.lower()
    data = payload(owner)
    assert data["a"] == [address_hash(app, OWNER)]
    assert OWNER not in str(data) and "eigenaar" not in str(data)
    assert len(data["b"]) >= 22  # a random id of this browser


def test_the_most_recent_five_addresses_are_kept_in_one_browser(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    owner = browser(app)
    addresses = [f"persoon{i}@example.nl" for i in range(known_browser.MAX_ADDRESSES + 1)]
    ids = []
    for email in addresses:
        sign_in(owner, forms, mailbox, email)
        ids.append(payload(owner)["b"])
        sign_out(owner, forms)
    sign_in(owner, forms, mailbox, addresses[2])  # again: moves to the front, once
    data = payload(owner)
    assert len(set(ids)) == 1 and data["b"] == ids[0]  # the same browser all along
    newest_first = [addresses[2], addresses[5], addresses[4], addresses[3], addresses[1]]
    assert data["a"] == [address_hash(app, email) for email in newest_first]
    sign_out(owner, forms)
    assert after_a_stranger(app, forms, owner, addresses[0]) == 429  # the oldest is forgotten


def test_a_changed_or_foreign_cookie_gives_no_allowance(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    owner = browser(app)
    sign_in(owner, forms, mailbox, OWNER)
    genuine = owner.get_cookie(COOKIE).value  # type: ignore[union-attr]
    session_cookie = owner.get_cookie("portal_session").value  # type: ignore[union-attr]
    use_up(app, forms, OWNER)
    data = payload(owner)
    with app.app_context():
        secret = app.config["SECRET_KEY"]
    forged = [
        URLSafeTimedSerializer("another key", salt=known_browser.SALT).dumps(data),
        URLSafeTimedSerializer(secret, salt="another purpose").dumps(data),
        genuine[:5] + ("B" if genuine[5] == "A" else "A") + genuine[6:],  # its content changed
        session_cookie,
    ]
    for value in forged:
        other = browser(app, "10.7.0.3")
        other.set_cookie(COOKIE, value)
        assert ask(other, forms, OWNER) == 429, value
    copied = browser(app, "10.7.0.3")
    copied.set_cookie(COOKIE, genuine)
    assert ask(copied, forms, OWNER) == 303  # the genuine cookie (the test can fail)


def test_the_cookie_stops_counting_after_its_days(app: Flask, forms: Any, mailbox: Any) -> None:
    with time_machine.travel(utcnow(), tick=True) as traveller:
        owner = known_browser_of(app, forms, mailbox)
        traveller.shift(timedelta(days=89))
        assert after_a_stranger(app, forms, owner, OWNER) == 303
        traveller.shift(timedelta(days=2))  # 91 days: the rate-limit window is new, too
        assert after_a_stranger(app, forms, owner, OWNER) == 429


def test_forgetting_the_browser_removes_its_allowance_and_keeps_the_session(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    owner = browser(app)
    sign_in(owner, forms, mailbox, OWNER)
    owner.set_cookie("portal_lang", "en")
    page = owner.get("/account").get_data(as_text=True)
    assert "Forget this browser" in page
    response = forms.post(owner, "/account", "/account/browser-vergeten")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    header = set_cookie_header(response)
    assert "Max-Age=0" in header or "expires=Thu, 01 Jan 1970" in header
    assert "no-store" in response.headers["Cache-Control"]
    assert owner.get_cookie(COOKIE) is None
    page = owner.get("/account").get_data(as_text=True)  # still signed in
    assert "This browser has been forgotten." in page and "Forget this browser" not in page
    sign_out(owner, forms)
    assert after_a_stranger(app, forms, owner, OWNER) == 429


def test_my_account_speaks_of_the_cookie_only_when_it_lists_an_address_of_mine(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    """On a shared computer, the next person (signed in some other way than by a code in this
    browser) is not told that someone else signed in here, nor offered to forget it."""
    client = browser(app)
    sign_in(client, forms, mailbox, "volgende@example.nl")
    client.set_cookie("portal_lang", "en")
    assert "Forget this browser" in client.get("/account").get_data(as_text=True)
    with app.app_context():
        secret = app.config["SECRET_KEY"]
    someone_else = {"b": payload(client)["b"], "a": [address_hash(app, OWNER)]}
    client.set_cookie(
        COOKIE, URLSafeTimedSerializer(secret, salt=known_browser.SALT).dumps(someone_else)
    )
    assert "Forget this browser" not in client.get("/account").get_data(as_text=True)


def test_the_cookie_has_the_host_prefix_and_is_secure_over_https(
    app: Flask,  # empties the tables afterwards
    make_app: Callable[..., Flask],
    base_settings: dict[str, object],
    settings_overrides: dict[str, object],
    instance_dir: Path,
    forms: Any,
    mailbox: Any,
) -> None:
    secure = make_app(
        {**base_settings, **settings_overrides, "secure_cookies": True, "known_browser_days": 7},
        instance_dir,
    )
    owner = browser(secure)
    header = set_cookie_header(sign_in(owner, forms, mailbox, OWNER, base="https://localhost"))
    assert (
        forms.post(owner, "https://localhost/account", "https://localhost/uitloggen").status_code
        == 303
    )
    assert header.startswith(f"__Host-{COOKIE}=")
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert "Path=/" in header and "Domain" not in header
    assert f"Max-Age={7 * 24 * 3600}" in header
    use_up_over_https = browser(secure, "10.7.9.9")
    statuses = [ask(use_up_over_https, forms, OWNER, "https://localhost") for _ in range(3)]
    assert statuses[-1] == 429
    assert ask(owner, forms, OWNER, "https://localhost") == 303


def test_the_privacy_statement_describes_the_cookie(
    make_app: Callable[..., Flask], base_settings: dict[str, object], instance_dir: Path
) -> None:
    visitor = make_app({**base_settings, "known_browser_days": 30}, instance_dir).test_client()
    visitor.set_cookie("portal_lang", "en")
    html = visitor.get("/privacy").get_data(as_text=True)
    keeps = html[html.index('<section aria-labelledby="portal">') :]
    keeps = keeps[: keeps.index("</section>")]
    assert "A cookie in your browser" in keeps
    assert "cannot lock you out" in keeps and "no readable e-mail address" in keeps
    assert "It lasts 30 days from your last sign-in, also when you sign out" in keeps


def test_an_address_confirmed_on_my_account_makes_the_browser_known_for_it(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    """An address added on My account and confirmed with its code counts as signed in with
    in this browser: strangers using up its allowance do not stop the owner from using it."""
    work = "werk@example.nl"
    client = browser(app)
    sign_in(client, forms, mailbox, OWNER)
    assert payload(client)["a"] == [address_hash(app, OWNER)]
    before = len(mailbox.messages)
    added = forms.post(client, "/account", "/account/toevoegen", kind="email", value=work)
    assert added.status_code == 303
    code = mailbox.code_in(mailbox.wait_for(before + 1)[-1])
    assert forms.post(client, "/account/adres-bevestigen", code=code).status_code == 303
    assert payload(client)["a"] == [address_hash(app, work), address_hash(app, OWNER)]
    sign_out(client, forms)
    assert after_a_stranger(app, forms, client, work) == 303


# The per-address budgets count what a form is about, never what a request adds to it.
#
# Only the sign-in form (``email``) and the form that adds an e-mail address (``value``) are
# read for an address; a code, a new code, a link and the code that confirms an address count
# under the address of the browser's pending attempt. A field added to those forms (``kind`` and
# ``value``, as the add form has them) must not choose another budget: a made-up address per
# request would be a new budget each time, for guessing codes and for flooding a mailbox.

VICTIM = "slachtoffer@example.nl"


def signed_in_browser(app: Flask, forms: Any, mailbox: Any, ip: str, email: str) -> FlaskClient:
    """A browser signed in with ``email``, from ``ip``."""
    client = browser(app, ip)
    before = len(mailbox.messages)
    assert forms.post(client, "/inloggen", email=email).status_code == 303
    code = mailbox.code_in(mailbox.wait_for(before + 1)[-1])
    assert forms.post(client, "/inloggen/code", code=code).status_code == 303
    return client


def steer(i: int) -> dict[str, str]:
    """Fields of the add form, naming a new made-up address each time."""
    return {"kind": "email", "value": f"verzonnen{i}@example.org"}


def test_added_fields_do_not_buy_more_code_guesses(app: Flask, forms: Any, mailbox: Any) -> None:
    client = browser(app, "10.8.0.1")
    assert forms.post(client, "/inloggen", email=VICTIM).status_code == 303
    wrong = [forms.post(client, "/inloggen/code", code="000000").status_code for _ in range(4)]
    assert wrong == [400, 400, 400, 429]
    steered = [
        forms.post(client, "/inloggen/code", code="000000", **steer(i)).status_code
        for i in range(3)
    ]
    assert steered == [429, 429, 429]


def test_added_fields_do_not_buy_more_codes_by_mail(app: Flask, forms: Any, mailbox: Any) -> None:
    client = browser(app, "10.8.0.2")
    for _ in range(3):
        assert forms.post(client, "/inloggen", email=VICTIM).status_code == 303
    assert len(mailbox.wait_for(3)) == 3
    assert forms.post(client, "/inloggen", email=VICTIM).status_code == 429
    new_code = "/inloggen/nieuwe-code"
    assert forms.post(client, "/inloggen/code", new_code).status_code == 429
    steered = [
        forms.post(client, "/inloggen/code", new_code, **steer(i)).status_code for i in range(3)
    ]
    assert steered == [429, 429, 429]
    assert len(mailbox.messages) == 3  # no code more went to the victim


def test_added_fields_do_not_buy_more_guesses_at_a_confirmation_code(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    signed_in = signed_in_browser(app, forms, mailbox, "10.8.0.3", "klant@example.nl")
    before = len(mailbox.messages)
    added = forms.post(signed_in, "/account/toevoegen", kind="email", value=VICTIM)
    assert added.status_code == 303
    mailbox.wait_for(before + 1)
    page = "/account/adres-bevestigen"
    wrong = [forms.post(signed_in, page, code="000000").status_code for _ in range(4)]
    assert wrong[-1] == 429 and 429 not in wrong[:3]
    steered = [forms.post(signed_in, page, code="000000", **steer(i)).status_code for i in range(2)]
    assert steered == [429, 429]


def test_adding_numbers_counts_per_customer(app: Flask, forms: Any, mailbox: Any) -> None:
    """A phone or customer number sends nothing: one customer adding many does not use up
    the budget of everyone else adding one."""
    signed_in = signed_in_browser(app, forms, mailbox, "10.8.0.4", "klant@example.nl")
    page = "/account/toevoegen"
    answers = [
        forms.post(signed_in, page, kind="phone", value=f"06-1234567{i}", proof="F1").status_code
        for i in range(4)
    ]
    assert answers[-1] == 429 and 429 not in answers[:3]
    other = signed_in_browser(app, forms, mailbox, "10.8.0.9", "iemand.anders@example.nl")
    theirs = forms.post(other, page, kind="phone", value="06-87654321", proof="F2")
    assert theirs.status_code == 303
