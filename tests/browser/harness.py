"""What the browser tests share: Debian's chromium through Playwright, an app on a live server in
a thread, axe-core's accessibility check (WCAG 2.1 A and AA), the mail a test reads its sign-in
code from, and the steps by which a customer or a staff member signs in.

The fixtures built on these (``server``, ``chromium``, ...) are in ``conftest.py``.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyotp
import pytest
from flask import Flask
from werkzeug.serving import make_server

from portal import crypto
from portal.models import utcnow
from portal.models.staff import StaffMember
from portal.staff import auth

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run")
AXE = Path(__file__).resolve().parent.parent / "node" / "node_modules" / "axe-core" / "axe.min.js"

#: ``pytestmark`` of a module that drives chromium; ``BROWSER_AND_AXE`` also runs axe-core.
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
BROWSER_AND_AXE = [
    *BROWSER,
    pytest.mark.skipif(not AXE.exists(), reason="needs axe-core: npm ci --prefix tests/node"),
]

#: The demo customer of the simulators.
CUSTOMER_EMAIL = "sanne.devries@example.nl"
#: The officer ``add_officer`` creates.
STAFF_EMAIL = "functionaris@firm.example"
STAFF_NAME = "Fenna Functionaris"
STAFF_PASSWORD = "lange zin als wachtwoord"


# --- the server and the browser -------------------------------------------------------------


@contextmanager
def serving(app: WSGIApplication, port: int) -> Iterator[None]:
    """``app`` on a real HTTP server on 127.0.0.1:``port``, in a thread, while the block runs."""
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def launch_chromium(playwright: Playwright, args: Sequence[str] = CHROMIUM_ARGS) -> Browser:
    """Debian's chromium, headless."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(args))


# --- axe-core -------------------------------------------------------------------------------

_AXE_RUN = """async () => (await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
})).violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))"""


def axe_violations(page: Page, *, keep_csp: bool = False) -> list[dict[str, Any]]:
    """What axe-core finds against WCAG 2.1 A and AA on ``page``: per violation its id, impact,
    help and up to five of the elements.

    axe-core is added as a script tag, which our CSP rightly forbids: open the page in a context
    with ``bypass_csp=True``. With ``keep_csp`` it is evaluated through the DevTools protocol
    instead, which the page's CSP does not govern, so the page is checked with its real CSP in
    force (as when the page's own scripts must run under it)."""
    if keep_csp:
        page.evaluate(AXE.read_text())
    else:
        page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(_AXE_RUN)
    return violations


@dataclass
class Axe:
    """axe-core's findings per page of one walk; asserted empty at the end of the test."""

    keep_csp: bool = False
    found: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def check(self, page: Page, where: str) -> None:
        assert where not in self.found, where
        self.found[where] = axe_violations(page, keep_csp=self.keep_csp)

    def assert_clean(self) -> None:
        for where, violations in self.found.items():
            for violation in violations:
                print(where, violation)
        assert self.found == {where: [] for where in self.found}


# --- mail -----------------------------------------------------------------------------------


class FileOutbox:
    """A folder in the app's instance folder that the app writes its mail to, one ``.eml`` file
    a message; unique to the test module that makes it."""

    def __init__(self, prefix: str) -> None:
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"

    @property
    def settings(self) -> dict[str, object]:
        """The settings that make the app write its mail here."""
        return {"mail_transport": "file", "mail_outbox": self.name}

    def files(self, app: Flask) -> list[Path]:
        """The messages written so far, oldest first."""
        return sorted((Path(app.instance_path) / self.name).glob("*.eml"))

    def wait_for(self, app: Flask, count: int) -> EmailMessage:
        """The newest message once there are ``count``; waits up to 10 s."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            files = self.files(app)
            if len(files) >= count:
                message = message_from_bytes(files[-1].read_bytes(), policy=default_policy)
                assert isinstance(message, EmailMessage)
                return message
            time.sleep(0.05)
        raise AssertionError("no e-mail written")


# --- signing in -----------------------------------------------------------------------------


def ask_for_code(page: Page, email: str = CUSTOMER_EMAIL) -> None:
    """On the customer's sign-in page, ask for a code by e-mail; waits for the code page."""
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_role("button", name="Stuur mij een code").click()
    page.wait_for_url(re.compile(r".*/inloggen/code$"))


def enter_code(page: Page, code: str) -> None:
    """On the code page, sign in with ``code``; waits for the account page."""
    page.get_by_label("Inlogcode").fill(code)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r".*/account$"))


def sign_in_customer(
    page: Page, base: str, code: Callable[[], str], email: str = CUSTOMER_EMAIL
) -> None:
    """Sign in as the customer with ``email``, with the code ``code()`` reads from the mail."""
    page.goto(base + "/inloggen")
    ask_for_code(page, email)
    enter_code(page, code())


def add_officer() -> tuple[StaffMember, str]:
    """An officer (``STAFF_EMAIL``, ``STAFF_PASSWORD``) who has enrolled an authenticator app,
    and the app's secret. Needs an app context; the caller commits."""
    secret = auth.new_totp_secret()
    member = auth.create_staff(STAFF_EMAIL, STAFF_NAME, "officer", STAFF_PASSWORD)
    member.totp_secret_encrypted = crypto.encrypt(secret)
    member.totp_enrolled_at = utcnow()
    return member, secret


def staff_password_step(page: Page, base: str, then: str = r".*/beheer/tweestaps$") -> None:
    """The staff sign-in's first step, with ``STAFF_EMAIL`` and ``STAFF_PASSWORD``; waits for
    the page that matches ``then`` (by default the second step's)."""
    page.goto(base + "/beheer/inloggen")
    page.get_by_label("E-mailadres").fill(STAFF_EMAIL)
    page.get_by_label("Wachtwoord").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Verder").click()
    page.wait_for_url(re.compile(then))


def staff_code_step(page: Page, code: str) -> None:
    """The staff sign-in's second step with an authenticator code; waits for the dashboard."""
    page.get_by_label("Code uit uw authenticator-app").fill(code)
    page.get_by_role("button", name="Inloggen", exact=True).click()
    page.wait_for_url(re.compile(r".*/beheer/$"))


def totp_code(totp: pyotp.TOTP, steps: int = 0) -> str:
    """The authenticator's code ``steps`` periods from now (a code is accepted only once)."""
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + steps)
