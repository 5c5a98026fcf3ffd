"""No log record can carry an e-mail address, phone number or IBAN."""

from __future__ import annotations

import io
import logging

import pytest

from portal.logging import RedactingFormatter, install_record_redaction, redact


@pytest.mark.parametrize(
    "personal",
    [
        "sanne.devries@example.nl",
        "Sanne.De.Vries+shop@Example.NL",
        "sanne.devries%40example.nl",
        "+31 6 12345678",
        "+31612345678",
        "0031 6 1234 5678",
        "06-12345678",
        "030 123 4567",
        "NL00TEST0123456789",
        "NL91 ABNA 0417 1643 00",
    ],
)
def test_redact_removes_personal_data(personal: str) -> None:
    out = redact(f"lookup for {personal} failed")
    assert personal not in out
    assert out.startswith("lookup for [")


def test_redact_keeps_ordinary_text() -> None:
    text = "GET /api/v2/contacts page=2 status=429 retry_after=30 took 0.35s order 2041"
    assert redact(text) == text


def test_records_are_redacted_for_every_handler_and_traceback() -> None:
    install_record_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    logger = logging.getLogger("portal.test_redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("code sent to %s", "sanne.devries@example.nl")
        try:
            raise ValueError("bad iban NL00TEST0123456789 for +31612345678")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "code sent to [email]" in output
    for personal in ("sanne.devries@example.nl", "NL00TEST0123456789", "+31612345678"):
        assert personal not in output


def test_a_handler_with_a_plain_formatter_writes_a_redacted_traceback_too() -> None:
    """As huey_consumer's own handler does (huey's logger does not propagate to the root's):
    the traceback is redacted where the record is made, not only by our formatter."""
    install_record_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("huey.test_redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError("recipient refused: anna.kept@example.nl")
        except ValueError:
            logger.exception("Unhandled exception in task %s.", "send_mail")
        logger.warning("where", stack_info=True)
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "ValueError: recipient refused: [email]" in output  # the traceback is there
    assert "anna.kept@example.nl" not in output
    assert "Stack (most recent call last)" in output


def test_captured_records_are_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    install_record_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("connectors.any").info("query email=%s", "daan.jansen@example.nl")
    assert "daan.jansen" not in caplog.text
    assert "[email]" in caplog.text


def test_sign_in_link_tokens_are_redacted_from_access_logs() -> None:
    line = '127.0.0.1 - - "GET /inloggen/link/Zx9_abcDEF-123?x=1 HTTP/1.1" 200 -'
    out = redact(line)
    assert "Zx9_abcDEF-123" not in out
    assert "/inloggen/link/[token]?x=1" in out
