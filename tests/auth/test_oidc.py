"""Signing in through an OpenID Connect provider, against a real one started for the tests.

The provider is panva's ``oidc-provider`` (``tests/node/oidc_provider.js``), run with node on a
free port of 127.0.0.1, with our client (PKCE required) and three accounts: ``sanne`` whose
address is verified, ``piet`` whose address is not, and ``anoniem`` who shares none. Its
development login and consent pages are driven by Chromium for the happy path, and by httpx
(carrying the provider's cookies) for the rest; the portal's side runs in Flask's test client,
on the address the provider redirects to. Nothing of Authlib is mocked.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from flask import Flask, render_template_string, url_for
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from sqlalchemy import func
from sqlalchemy import select as sql_select
from werkzeug.serving import BaseWSGIServer, make_server

from portal import PROJECT_ROOT
from portal.auth import oidc
from portal.extensions import db
from portal.models import AuditEvent, Customer, CustomerIdentifier, CustomerSession
from portal.settings import SettingsError, load_settings

NODE_DIR = PROJECT_ROOT / "tests" / "node"
NODE = shutil.which("node")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CLIENT_ID = "privacy-portal"
CLIENT_SECRET = secrets.token_urlsafe(32)
PROVIDER_NAME = "Testprovider"
KEY_ID = "provider-key-1"
SANNE = "sanne.devries@example.nl"
PIET = "piet.jansen@example.nl"
ACCOUNTS = {
    "sanne": {"email": SANNE, "email_verified": True},
    "piet": {"email": PIET, "email_verified": False},
    "anoniem": {},
}


# --- the portal on a real port (for the browser), and the provider -----------------------------


class _Dispatcher:
    """A WSGI app that forwards to whichever portal app the current test serves."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app is being served"]
        return self.app(environ, start_response)


@dataclass
class PortalServer:
    """The portal's address for the whole session; each test plugs its own app in."""

    url: str
    dispatcher: _Dispatcher


@pytest.fixture(scope="session")
def portal_server() -> Iterator[PortalServer]:
    """A threaded server on a free port; the provider knows its callback URL from the start."""
    dispatcher = _Dispatcher()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, dispatcher, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield PortalServer(f"http://127.0.0.1:{server.server_port}", dispatcher)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def live_portal(app: Flask, portal_server: PortalServer) -> Iterator[str]:
    """Serve this test's app on the session's portal address."""
    portal_server.dispatcher.app = app
    try:
        yield portal_server.url
    finally:
        portal_server.dispatcher.app = None


@dataclass
class Provider:
    """The running provider and the key it signs with (so tests can sign as it would)."""

    issuer: str
    signing_key: RSAKey


def _signing_key(kid: str = KEY_ID) -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True
    )


@pytest.fixture(scope="session")
def oidc_provider(
    portal_server: PortalServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Provider]:
    """Start ``oidc-provider`` with node; stop it (and close its pipes) after the session."""
    if NODE is None or not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("node or tests/node/node_modules missing: run python3 manage.py test")
    key = _signing_key()
    workdir = tmp_path_factory.mktemp("oidc-provider")
    config = workdir / "config.json"
    config.write_text(
        json.dumps(
            {
                "clients": [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "redirect_uris": [f"{portal_server.url}/auth/oidc/callback"],
                        "response_types": ["code"],
                        "grant_types": ["authorization_code"],
                        "token_endpoint_auth_method": "client_secret_basic",
                    }
                ],
                "signing_key": key.as_dict(private=True),
                "cookie_key": secrets.token_urlsafe(32),
                "accounts": ACCOUNTS,
            }
        )
    )
    log_path = workdir / "provider.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [NODE, str(NODE_DIR / "oidc_provider.js"), str(config)],
            cwd=NODE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    assert process.stdout is not None
    try:
        ready, _, _ = select.select([process.stdout], [], [], 20)
        line = process.stdout.readline().decode() if ready else ""
        if not line.startswith("listening "):
            raise RuntimeError(f"the OpenID provider did not start:\n{log_path.read_text()}")
        yield Provider(line.split()[1], key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@pytest.fixture
def settings_overrides(oidc_provider: Provider, portal_server: PortalServer) -> dict[str, object]:
    """The portal at the session's address, with the test provider configured."""
    return {
        "base_url": portal_server.url,
        "oidc_issuer": oidc_provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_name": PROVIDER_NAME,
    }


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    """Flask's test client, speaking to the portal on the address the provider knows."""
    with app.test_client() as test_client:
        yield test_client


# --- driving the provider with httpx -----------------------------------------------------------


def _start(client: FlaskClient, portal_url: str) -> str:
    """Ask the portal to start; return the provider's authorization URL it redirects to."""
    response = client.get(f"{portal_url}/auth/oidc/start")
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def _at_provider(authorize_url: str, login: str, portal_url: str, *, cancel: bool = False) -> str:
    """Sign in at the provider's development pages; return the URL it sends the browser to."""
    with httpx.Client(timeout=10) as http:
        response = http.get(authorize_url)
        for _ in range(12):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(portal_url):
                    return target
                response = http.get(target)
                continue
            assert response.status_code == 200, response.text
            page = response.text
            form = re.search(r'<form[^>]*action="([^"]+)"', page)
            assert form is not None, page
            action = urljoin(str(response.url), html.unescape(form.group(1)))
            if cancel:
                response = http.get(action.rstrip("/") + "/abort")
            elif 'name="login"' in page:
                response = http.post(
                    action, data={"prompt": "login", "login": login, "password": "any"}
                )
            else:
                response = http.post(action, data={"prompt": "consent"})
    raise AssertionError("the provider did not send the browser back")


def _sign_in(client: FlaskClient, portal_url: str, login: str) -> Any:
    """The whole flow for ``login``; returns the portal's answer to the callback."""
    callback = _at_provider(_start(client, portal_url), login, portal_url)
    return client.get(callback)


def _replace_query(url: str, **changes: str | None) -> str:
    """``url`` with query parameters changed (``None``: removed)."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    kept = {k: v for k, v in query.items() if v is not None}
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _counts(app: Flask) -> tuple[int, int]:
    """How many customers and server-side sessions exist."""
    with app.app_context():
        customers = db.session.scalar(sql_select(func.count()).select_from(Customer))
        sessions = db.session.scalar(sql_select(func.count()).select_from(CustomerSession))
        return int(customers or 0), int(sessions or 0)


def _assert_signed_in_as_sanne(app: Flask) -> None:
    with app.app_context():
        identifiers = db.session.scalars(sql_select(CustomerIdentifier)).all()
        assert len(identifiers) == 1
        assert identifiers[0].kind == "email"
        assert identifiers[0].is_verified
        assert identifiers[0].verified_by == "oidc"
        sessions = db.session.scalars(sql_select(CustomerSession)).all()
        assert [s.method for s in sessions] == ["oidc"]
        logins = db.session.scalars(
            sql_select(AuditEvent).where(AuditEvent.action == "auth.login")
        ).all()
        assert [e.details for e in logins] == [{"method": "oidc"}]


# --- the happy path ----------------------------------------------------------------------------


@pytest.mark.browser
def test_sign_in_in_a_real_browser(app: Flask, live_portal: str) -> None:
    """Chromium follows the button, signs in at the provider and comes back signed in."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            with app.test_request_context():
                login = url_for("auth.login")
            page.goto(f"{live_portal}{login}")
            page.click(".oidc-sign-in a")  # the "Sign in with ..." button on the login page
            page.fill('input[name="login"]', "sanne")
            page.fill('input[name="password"]', "any password")
            page.click("button[type=submit]")
            page.click("button[type=submit]")  # consent: "Continue"
            page.wait_for_url(f"{live_portal}/**")
            with app.test_request_context():
                account = url_for("auth.account")
            assert page.url == f"{live_portal}{account}", page.content()
            # The account page, reached with the new session, lists the verified address.
            assert page.get_by_role("cell", name=SANNE).is_visible()
        finally:
            browser.close()
    _assert_signed_in_as_sanne(app)


def test_verified_address_signs_in(app: Flask, client: FlaskClient, live_portal: str) -> None:
    """The provider vouches for the address: a customer, a verified identifier, a session."""
    response = _sign_in(client, live_portal, "sanne")
    assert response.status_code == 302
    account = client.get(urljoin(live_portal, response.headers["Location"]))
    assert account.status_code == 200  # the session works: the account page is not refused
    assert SANNE in account.get_data(as_text=True)
    _assert_signed_in_as_sanne(app)
    # Signing in again finds the same customer rather than creating another.
    _sign_in(client, live_portal, "sanne")
    assert _counts(app)[0] == 1


def test_start_sends_pkce_state_and_nonce(client: FlaskClient, live_portal: str) -> None:
    """The authorization request uses S256 PKCE, a state, a nonce and our callback."""
    query = parse_qs(urlsplit(_start(client, live_portal)).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["scope"] == ["openid email"]
    assert query["redirect_uri"] == [f"{live_portal}/auth/oidc/callback"]


def test_starts_without_a_callback_do_not_grow_the_session(
    app: Flask, client: FlaskClient, live_portal: str
) -> None:
    """Each start keeps its state in the session until a callback: a visitor pressing "Sign
    in with ..." again and again (the back button) would grow the cookie past what browsers
    keep, and then sign-in by e-mail stops working. Only the newest start is kept, and it
    signs in."""
    sizes = []
    for _ in range(25):
        _start(client, live_portal)
        cookie = client.get_cookie(
            app.config["SESSION_COOKIE_NAME"], domain=urlsplit(live_portal).hostname or "localhost"
        )
        assert cookie is not None
        sizes.append(len(cookie.value))
    assert max(sizes) < 1500, sizes
    assert _sign_in(client, live_portal, "sanne").status_code == 302
    _assert_signed_in_as_sanne(app)


# --- refused ---------------------------------------------------------------------------------


def test_unverified_address_is_refused_in_dutch(
    app: Flask, client: FlaskClient, live_portal: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``email_verified: false``: a clear page, no customer, no session, nothing personal logged."""
    response = _sign_in(client, live_portal, "piet")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Uw e-mailadres is niet bevestigd" in page
    assert PIET not in page
    assert _counts(app) == (0, 0)
    assert PIET not in caplog.text and "piet" not in caplog.text


def test_unverified_address_is_refused_in_english(
    app: Flask, client: FlaskClient, live_portal: str
) -> None:
    """The same page in English for a visitor who chose English."""
    client.set_cookie("portal_lang", "en", domain="127.0.0.1")
    response = _sign_in(client, live_portal, "piet")
    assert response.status_code == 403
    assert "Your e-mail address has not been confirmed" in response.get_data(as_text=True)
    assert _counts(app) == (0, 0)


def test_no_address_shared_is_refused(app: Flask, client: FlaskClient, live_portal: str) -> None:
    """An account without an e-mail claim (in the ID token or UserInfo) signs nobody in."""
    response = _sign_in(client, live_portal, "anoniem")
    assert response.status_code == 403
    assert "Testprovider heeft geen e-mailadres doorgegeven" in response.get_data(as_text=True)
    assert _counts(app) == (0, 0)


def test_tampered_state_is_refused(app: Flask, client: FlaskClient, live_portal: str) -> None:
    """A callback whose state is not the one this browser was given signs nobody in."""
    callback = _at_provider(_start(client, live_portal), "sanne", live_portal)
    response = client.get(_replace_query(callback, state="forged-" + secrets.token_urlsafe(8)))
    assert response.status_code == 400
    assert "niet meer geldig" in response.get_data(as_text=True)
    assert _counts(app) == (0, 0)


def test_callback_in_another_browser_is_refused(
    app: Flask, client: FlaskClient, live_portal: str
) -> None:
    """A code taken to a browser that did not start the flow (login CSRF) is refused."""
    callback = _at_provider(_start(client, live_portal), "sanne", live_portal)
    with app.test_client() as other_browser:
        assert other_browser.get(callback).status_code == 400
    assert _counts(app) == (0, 0)


def test_wrong_nonce_is_refused(app: Flask, client: FlaskClient, live_portal: str) -> None:
    """The real ID token carries the nonce sent; if the session expects another, it is refused."""
    authorize_url = _start(client, live_portal)
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    with client.session_transaction(base_url=live_portal) as session:
        key = f"_state_{oidc.CLIENT_NAME}_{state}"
        stored = session[key]
        stored["data"]["nonce"] = "not-the-nonce-sent"
        session[key] = stored  # assign, so the session knows it changed
    response = client.get(_at_provider(authorize_url, "sanne", live_portal))
    assert response.status_code == 400
    assert "kon niet worden gecontroleerd" in response.get_data(as_text=True)
    assert _counts(app) == (0, 0)


def test_cancelled_at_the_provider(app: Flask, client: FlaskClient, live_portal: str) -> None:
    """The person aborts at the provider: a calm page, nobody signed in."""
    callback = _at_provider(_start(client, live_portal), "sanne", live_portal, cancel=True)
    assert "error=access_denied" in callback
    response = client.get(callback)
    assert response.status_code == 400
    assert "Inloggen is afgebroken" in response.get_data(as_text=True)
    assert _counts(app) == (0, 0)


@pytest.mark.parametrize("iss", ["https://attacker.example", None], ids=["other", "missing"])
def test_answer_from_another_issuer_is_refused(
    app: Flask, client: FlaskClient, live_portal: str, iss: str | None
) -> None:
    """RFC 9207: an ``iss`` naming another provider (mix-up), or none though promised."""
    callback = _at_provider(_start(client, live_portal), "sanne", live_portal)
    assert "iss=" in callback
    response = client.get(_replace_query(callback, iss=iss))
    assert response.status_code == 400
    assert _counts(app) == (0, 0)


# --- the ID token checks, with tokens signed as the provider would (or almost) ------------------


def _claims(issuer: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "sanne",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": "the-nonce",
        "email": SANNE,
        "email_verified": True,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _verify(app: Flask, key: RSAKey, claims: dict[str, Any], kid: str = KEY_ID) -> dict[str, Any]:
    token = jwt.encode({"alg": "RS256", "kid": kid}, claims, key)
    with app.test_request_context():
        client = oidc.get_client()
        return oidc.verify_id_token(
            client, {"id_token": token, "access_token": "opaque"}, nonce="the-nonce"
        )


def test_token_signed_by_the_provider_key_is_accepted(app: Flask, oidc_provider: Provider) -> None:
    """The control case: the checks below fail for their one reason only."""
    claims = _verify(app, oidc_provider.signing_key, _claims(oidc_provider.issuer))
    assert claims["email"] == SANNE


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"aud": "another-client"}, id="wrong-audience"),
        pytest.param({"aud": ["another-client"], "azp": CLIENT_ID}, id="audience-list-without-us"),
        pytest.param({"nonce": "another-nonce"}, id="wrong-nonce"),
        pytest.param({"nonce": None}, id="missing-nonce"),
        pytest.param({"iss": "http://127.0.0.1:1"}, id="wrong-issuer"),
        pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
    ],
)
def test_token_with_wrong_claims_is_refused(
    app: Flask, oidc_provider: Provider, changes: dict[str, Any]
) -> None:
    """Signed with the provider's own key, but not for us, not now or not this flow."""
    with pytest.raises(JoseError):
        _verify(app, oidc_provider.signing_key, _claims(oidc_provider.issuer, **changes))


@pytest.mark.parametrize("kid", [KEY_ID, "unknown-key"])
def test_token_signed_by_another_key_is_refused(
    app: Flask, oidc_provider: Provider, kid: str
) -> None:
    """A key not in the provider's JWKS, whether it claims the provider's key id or not."""
    with pytest.raises(JoseError):
        _verify(app, _signing_key(kid), _claims(oidc_provider.issuer), kid=kid)


# --- the provider down, configuration, the button ----------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_provider_unreachable_gives_a_clear_page(
    _migrated: None,
    base_settings: dict[str, object],
    instance_dir: Path,
    portal_server: PortalServer,
) -> None:
    """No provider at the issuer's address: a 503 page that says so, not a crash."""
    from portal import create_app

    app = create_app(
        {
            **base_settings,
            "base_url": portal_server.url,
            "oidc_issuer": f"http://127.0.0.1:{_closed_port()}",
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_name": PROVIDER_NAME,
        },
        instance_path=instance_dir,
    )
    with app.test_client() as client:
        response = client.get(f"{portal_server.url}/auth/oidc/start")
        assert response.status_code == 503
        assert "Testprovider is op dit moment niet bereikbaar" in response.get_data(as_text=True)
        # Coming back from a provider that has since gone away is no crash either.
        response = client.get(f"{portal_server.url}/auth/oidc/callback?code=x&state=y")
        assert response.status_code == 503


def test_not_configured_means_no_route_and_no_button(
    _migrated: None, base_settings: dict[str, object], instance_dir: Path
) -> None:
    """Without ``oidc_issuer`` there is nothing to click and nothing to call."""
    from portal import create_app

    app = create_app(dict(base_settings), instance_path=instance_dir)
    assert "oidc.start" not in app.view_functions
    with app.test_request_context():
        assert render_template_string('{% include "auth/_oidc_button.html" %}').strip() == ""
    with app.test_client() as client:
        assert client.get("/auth/oidc/start").status_code == 404


def test_button_says_sign_in_with_the_provider(app: Flask) -> None:
    """The partial for the sign-in page: a plain link (CSP form-action), in Dutch."""
    with app.test_request_context():
        button = render_template_string('{% include "auth/_oidc_button.html" %}')
    assert "Inloggen met Testprovider" in button
    assert 'href="/auth/oidc/start"' in button
    assert "<form" not in button


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"oidc_issuer": "https://idp.example.nl"}, "oidc_client_id (PORTAL_OIDC_CLIENT_ID)"),
        (
            {"oidc_issuer": "https://idp.example.nl", "oidc_client_id": "portal"},
            "oidc_client_secret (PORTAL_OIDC_CLIENT_SECRET)",
        ),
        ({"oidc_issuer": "idp.example.nl"}, "oidc_issuer (PORTAL_OIDC_ISSUER)"),
    ],
)
def test_incomplete_provider_settings_name_the_setting(
    tmp_path: Path, values: dict[str, object], expected: str
) -> None:
    """A half-configured provider stops start-up with a message naming what is missing."""
    with pytest.raises(SettingsError, match=re.escape(expected)):
        load_settings(tmp_path, values)
