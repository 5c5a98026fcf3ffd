"""Correction requests (art. 16): the fields of the customer's own records, and their checks.

Only records in the signed-in customer's own snapshot can be named: a reference that is not
there (someone else's record, a typo, an expired snapshot) is simply not found, so a request
never shows or stores another person's data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..customer.services import display_value
from ..customer.texts import (
    PERSON_TYPES,
    context_fields,
    field_correctable,
    field_label,
    in_sentence,
    pairs,
    record_name,
    record_type_label,
    speaks_codes,
)
from ..gathering import Snapshot
from ..gathering.presentation import plain_text
from ..policy import Policy

_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,24}$")
_EMAIL_NAMES = re.compile(r"(^|_)e?mail($|_)|email")
_PHONE_NAMES = re.compile(r"(^|_)(phone|mobile|telefoon|mobiel|tel)($|_)")

Ref = tuple[str, str, str]


def ref_of(record: Mapping[str, Any]) -> Ref:
    return (str(record["source"]), str(record["record_type"]), str(record["record_id"]))


def find_record(snapshot: Snapshot, ref: Ref) -> dict[str, Any] | None:
    """The customer's own record ``ref``, or None."""
    return next((r for r in snapshot.records if ref_of(r) == ref), None)


def display(value: Any, field: str | None = None, codes: bool = True) -> str:
    """The value of ``field`` as one line of text, in the words the customer's data pages use
    for it (:func:`~portal.customer.services.display_value`): dates, amounts and (with
    ``codes``, a built-in connector's record) a system's codes in words, a list of name and
    value pairs (WooCommerce's extra data) as "name: value", an address's parts joined by
    commas."""
    named = pairs(field, value) if codes else None
    shown = display_value(value, field, codes)
    if named is not None and isinstance(shown, Mapping):
        return ", ".join(f"{label}: {text}" for label, v in shown.items() if (text := _line(v)))
    return _line(shown)


def _line(value: Any) -> str:
    """A value :func:`display` made readable, as one line of text."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ", ".join(text for v in value.values() if (text := _line(v)))
    if isinstance(value, list | tuple):
        return ", ".join(text for v in value if (text := _line(v)))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return plain_text(str(value)).strip()


def field_kind(source_connector: str | None, record_type: str, name: str) -> str:
    """``email``, ``phone``, ``address`` or ``text``: how a new value is checked.

    The connector's declaration wins (``correctable``); else the field's name decides.
    """
    if source_connector:
        from connectors import registry
        from connectors.errors import NotConfigured

        try:
            cls = registry.get(source_connector)
        except NotConfigured:
            cls = None
        spec = getattr(cls, "correctable", {}).get(record_type, {}).get(name) if cls else None
        if spec is not None:
            return str(spec.kind.value)
    lowered = name.lower()
    if _EMAIL_NAMES.search(lowered):
        return "email"
    if _PHONE_NAMES.search(lowered):
        return "phone"
    if "address" in lowered or "adres" in lowered:
        return "address"
    return "text"


def connector_correctable(source_connector: str | None, record_type: str) -> set[str]:
    """Fields the source's connector can write back (empty when unknown)."""
    if not source_connector:
        return set()
    from connectors import registry
    from connectors.errors import NotConfigured

    try:
        cls = registry.get(source_connector)
    except NotConfigured:
        return set()
    return set(getattr(cls, "correctable", {}).get(record_type, {}))


@dataclass(frozen=True)
class FieldChoice:
    """One field of the customer's record that can be corrected, with its current value."""

    source: str
    record_type: str
    record_id: str
    field: str
    label: str
    record_label: str
    current: str
    kind: str

    @property
    def label_in_sentence(self) -> str:
        """:attr:`label` after a word ("New IP address", "New first name")."""
        return in_sentence(self.label)


def _connector(policy: Policy, source: str) -> str | None:
    return next((s.connector for s in policy.sources if s.key == source), None)


def _source_name(policy: Policy, source: str, locale: str) -> str:
    found = next((s for s in policy.sources if s.key == source), None)
    return found.name.get(locale) if found else source


def record_label(policy: Policy, record: Mapping[str, Any], locale: str) -> str:
    """E.g. "Webwinkel: Klantgegevens 101"."""
    return (
        f"{_source_name(policy, str(record['source']), locale)}: "
        f"{record_name(record_type_label(str(record['record_type'])), record)}"
    )


def choice_for(
    policy: Policy, record: Mapping[str, Any], name: str, locale: str
) -> FieldChoice | None:
    """The field ``name`` of ``record`` if it exists and may be corrected."""
    fields = record.get("fields", {})
    if name not in fields:
        return None
    category = policy.category(str(record.get("categories", {}).get(name, "")))
    source, record_type, record_id = ref_of(record)
    if not field_correctable(category, name, context_fields(record), record_type):
        return None
    return FieldChoice(
        source=source,
        record_type=record_type,
        record_id=record_id,
        field=name,
        label=field_label(category, name, locale, record_type),
        record_label=record_label(policy, record, locale),
        current=display(fields[name], name, speaks_codes(record)),
        kind=field_kind(_connector(policy, source), record_type, name),
    )


def fields_of(
    policy: Policy, record: Mapping[str, Any], locale: str, first: str | None = None
) -> list[FieldChoice]:
    """The correctable fields of ``record`` worth offering: ``first``, then those the policy
    names or the source can write back (not every technical field of a vendor)."""
    source, record_type, _ = ref_of(record)
    named = {f.key for c in policy.categories for f in c.fields}
    named |= connector_correctable(_connector(policy, source), record_type)
    names = [first] if first else []
    names += [n for n in record.get("fields", {}) if n != first and n in named]
    choices = [choice_for(policy, record, n, locale) for n in names]
    return [c for c in choices if c is not None]


def person_records(snapshot: Snapshot) -> list[dict[str, Any]]:
    """The customer's records that describe them (account, contact, user) in every source."""
    return [r for r in snapshot.records if str(r.get("record_type")) in PERSON_TYPES]


def encode_ref(ref: Ref) -> str:
    return "|".join(ref)


def decode_ref(value: str) -> Ref | None:
    parts = value.split("|")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and all(parts) else None


def check_value(kind: str, value: str, current: str) -> Any:
    """The error message for a new value, or None when it is fine."""
    same = " ".join(value.split()) == " ".join(current.split())
    if kind == "email":
        same = value.strip().casefold() == current.strip().casefold()
    if same:
        return _l("The new value is the same as the current one")
    if kind == "email":
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            return _l("Enter an e-mail address in the right format, like name@example.nl")
    elif kind == "phone":
        digits = sum(ch.isdigit() for ch in value)
        if not _PHONE.match(value) or not 6 <= digits <= 15:
            return _l("Enter a phone number with digits only, like 06 12345678 or +31 6 12345678")
    return None


def unique(choices: Sequence[FieldChoice]) -> list[FieldChoice]:
    """``choices`` without repeats of the same record field."""
    seen: set[tuple[str, str, str, str]] = set()
    result = []
    for c in choices:
        key = (c.source, c.record_type, c.record_id, c.field)
        if key not in seen:
            seen.add(key)
            result.append(c)
    return result
