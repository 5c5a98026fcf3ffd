"""Logging that cannot carry personal data.

Every log record is redacted when it is created (a record factory), its traceback included
(rendered then), so no handler, library or test capture ever sees an e-mail address, phone
number or IBAN; the formatter redacts its whole output once more.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# International (+31 6 12345678, 0031...) and Dutch national (06-12345678, 030 123 4567) numbers.
_PHONE = re.compile(
    r"(?<![\w.])(?:(?:\+|%2B|00)\d{1,3}[\s.\-]?(?:\(0\)[\s.\-]?)?|0)"
    r"\d(?:[\s.\-]?\d){7,11}(?![\w])"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}[\s]?(?:[A-Z0-9]{4}[\s]?){2,7}[A-Z0-9]{1,4}\b")

# Sign-in link tokens in request paths (access logs): a credential, even if single use.
_LINK_TOKEN = re.compile(r"(/inloggen/link/)[^\s/?#\"']+")

REDACTED = {"email": "[email]", "phone": "[phone]", "iban": "[iban]"}


def redact(text: str) -> str:
    """Replace e-mail addresses, IBANs, phone numbers and sign-in tokens in ``text``."""
    text = _LINK_TOKEN.sub(r"\1[token]", text)
    text = _EMAIL.sub(REDACTED["email"], text)
    text = _IBAN.sub(REDACTED["iban"], text)
    return _PHONE.sub(REDACTED["phone"], text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, tracebacks included, is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_installed = False
_TRACEBACKS = logging.Formatter()


def install_record_redaction() -> None:
    """Redact every log record at creation. Idempotent."""
    global _installed
    if _installed:
        return
    base_factory = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base_factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break logging  # noqa: BLE001
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        # The traceback too, rendered now: formatters reuse ``exc_text``, so a handler with a
        # plain formatter (huey_consumer's own) writes the redacted text as well.
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def configure_logging(level: str) -> None:
    """Redaction for every record; a redacting handler on the root logger if it has none."""
    install_record_redaction()
    logging.getLogger("portal").setLevel(level)
    logging.getLogger("connectors").setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        if root.level > logging.INFO:
            root.setLevel(logging.INFO)
    for handler in root.handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            fmt = handler.formatter._fmt if handler.formatter else None
            handler.setFormatter(RedactingFormatter(fmt))
