"""The e-mail to the privacy contact about sources that keep failing names the cause of each:
credentials refused, unreachable, or another failure (not "cannot reach" for all)."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.backoffice import health
from simulators import SimulatorGroup

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from .test_health_page import _fresh_simulators, _push_request_context  # noqa: F401


@pytest.fixture
def settings_overrides(
    simulated_connectors: dict[str, object],
    mailbox: Mailbox,  # noqa: F811 - the imported fixture
) -> dict[str, object]:
    return {
        "connectors": simulated_connectors,
        "gather_budget_seconds": 10.0,
        "mail_transport": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "smtp_security": "none",
        "smtp_timeout": 5,
        "default_locale": "en",  # the privacy contact's mail, in English
    }


def _section(body: str, heading: str) -> str:
    """The lines under ``heading``, up to the next empty line."""
    start = body.index(heading)
    end = body.find("\n\n", start)
    return body[start : end if end != -1 else None]


def test_the_mail_words_each_failing_source_by_its_cause(
    app: Flask,
    simulators: SimulatorGroup,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    simulators["mollie"].set_fault("expired_credentials")
    simulators["moneybird"].set_fault("down")
    with app.app_context():
        for _ in range(health.FLAG_AFTER):
            items = {item.key: item for item in health.check_all()}
    assert items["payments"].cause == "credentials"
    assert items["invoicing"].cause == "unreachable"

    body = Mailbox.text_of(mailbox.wait_for(1)[0]).replace("\r\n", "\n")

    refused = _section(body, "These systems refuse the portal's credentials:")
    assert "Mollie" in refused and "Moneybird" not in refused
    unreachable = _section(body, "The portal cannot reach these systems:")
    assert "Moneybird" in unreachable and "Mollie" not in unreachable
    assert "check the API key or password" in body
    assert "check the address in the settings" in body
    assert "another reason" not in body
    assert "cannot reach these systems, time after time" not in body


def test_only_refused_credentials_never_read_as_unreachable(
    app: Flask,
    simulators: SimulatorGroup,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    simulators["mollie"].set_fault("expired_credentials")
    with app.app_context():
        for _ in range(health.FLAG_AFTER):
            health.check_all()

    body = Mailbox.text_of(mailbox.wait_for(1)[0]).replace("\r\n", "\n")

    assert "These systems refuse the portal's credentials:" in body
    assert "cannot reach" not in body and "Unreachable" not in body
