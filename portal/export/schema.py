"""The JSON Schema (draft 2020-12) of the export format, versions 1 and 2.

The portal serves it at ``/export/schema/v2.json`` (:func:`json_schema` with that URL as
``$id``); every JSON export names it in ``schema``. ``FORMAT.md`` describes the format in words.
A change that could break a reader gets a new version and a new URL; an older version's schema
stays served as it was, for the files written in it.

Version 2 (since 2026-11-25) names per record the category of each field and the date each
category's part is due to be removed; what a category means (purposes and legal basis,
retention, recipients) is said once, in ``categories[]``. Version 1 repeated references to it
in every record.
"""

from __future__ import annotations

from typing import Any

#: The ``format`` value of every export.
FORMAT_NAME = "privacy-portal-export"
#: The version of the format this code writes.
FORMAT_VERSION = 2
#: Every version whose schema is served.
FORMAT_VERSIONS = (1, 2)

#: A record's keys, in the order of the JSON export (version 1 had all but ``due_dates``).
RECORD_KEYS = (
    "source",
    "system",
    "record_type",
    "record_id",
    "parent",
    "link",
    "matched",
    "fields",
    "dates",
    "categories",
    "due_dates",
)

STATUSES = ["complete", "partial", "failed", "skipped"]
LEGAL_BASES = [
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
]
RETENTION_KINDS = ["period", "while_customer", "until_withdrawn", "undecided"]

_TEXT: dict[str, Any] = {"type": "string"}
_OPTIONAL_TEXT: dict[str, Any] = {"type": ["string", "null"]}
_KEY: dict[str, Any] = {"type": "string", "minLength": 1}
_KEYS: dict[str, Any] = {"type": "array", "items": _KEY}
_DURATION: dict[str, Any] = {
    "description": "An ISO 8601 duration, e.g. P7Y (7 years) or P24M (24 months).",
    "type": ["string", "null"],
    "pattern": r"^P(\d+Y)?(\d+M)?(\d+D)?$",
}


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def _defs(version: int) -> dict[str, Any]:
    retention_rule = _object(
        ["kind", "period", "starts"],
        {
            "kind": {"enum": RETENTION_KINDS},
            "period": _DURATION,
            "starts": {
                "description": "The event the period runs from, e.g. end_of_fiscal_year.",
                "type": ["string", "null"],
            },
        },
    )
    defs = {
        "address": _object(
            ["street", "postal_code", "city", "country"],
            {"street": _TEXT, "postal_code": _TEXT, "city": _TEXT, "country": _TEXT},
        ),
        "controller": _object(
            ["name"],
            {
                "name": _TEXT,
                "trade_names": {"type": "array", "items": _TEXT},
                "kvk_number": _OPTIONAL_TEXT,
                "address": {"oneOf": [{"$ref": "#/$defs/address"}, {"type": "null"}]},
                "contact_email": _OPTIONAL_TEXT,
                "phone": _OPTIONAL_TEXT,
                "website": _OPTIONAL_TEXT,
                "privacy_contact": {
                    "oneOf": [
                        _object(
                            ["name", "email", "is_dpo"],
                            {
                                "name": _TEXT,
                                "email": _TEXT,
                                "phone": _OPTIONAL_TEXT,
                                "is_dpo": {"type": "boolean"},
                            },
                        ),
                        {"type": "null"},
                    ]
                },
            },
        ),
        "authority": _object(
            ["name", "url"], {"name": _TEXT, "url": _TEXT, "address": _OPTIONAL_TEXT}
        ),
        "identifier": _object(
            ["kind", "value"],
            {"kind": {"enum": ["email", "phone", "customer_number"]}, "value": _TEXT},
        ),
        "source": _object(
            ["key", "name", "system", "status", "error_kind", "reason", "missing", "records"],
            {
                "key": _KEY,
                "name": _TEXT,
                "system": _OPTIONAL_TEXT,
                "status": {"enum": STATUSES},
                "error_kind": {
                    "description": "Why the source failed or is partial (down, timeout, auth...).",
                    "type": ["string", "null"],
                },
                "reason": {
                    "description": "The reason in words, in the export's language; empty when "
                    "the source is complete.",
                    "type": "string",
                },
                "missing": {
                    "type": "array",
                    "items": _object(["what", "kind"], {"what": _TEXT, "kind": _TEXT}),
                },
                "records": {"type": "integer", "minimum": 0},
            },
        ),
        "purpose": _object(
            ["key", "name", "legal_basis", "legal_basis_article", "legal_basis_text"],
            {
                "key": _KEY,
                "name": _TEXT,
                "description": _OPTIONAL_TEXT,
                "legal_basis": {"enum": LEGAL_BASES},
                "legal_basis_article": {"type": "string", "pattern": r"^6\(1\)\([a-f]\)$"},
                "legal_basis_text": _TEXT,
                "legitimate_interest": _OPTIONAL_TEXT,
                "obligation": _OPTIONAL_TEXT,
            },
        ),
        "recipient": _object(
            ["key", "name", "role", "country"],
            {
                "key": _KEY,
                "name": _TEXT,
                "role": _OPTIONAL_TEXT,
                "role_text": _OPTIONAL_TEXT,
                "country": _OPTIONAL_TEXT,
                "purpose": _OPTIONAL_TEXT,
                "safeguards": _OPTIONAL_TEXT,
            },
        ),
        "retention_rule": retention_rule,
        "category": _object(
            ["key", "name", "purposes", "retention", "recipients", "sources"],
            {
                "key": _KEY,
                "name": _TEXT,
                "description": _OPTIONAL_TEXT,
                "special": {"type": "boolean"},
                "purposes": {"type": "array", "items": {"$ref": "#/$defs/purpose"}},
                "retention": _object(
                    ["kind", "period", "starts", "text", "ground"],
                    {
                        **retention_rule["properties"],
                        "text": {"description": "The rule in words.", "type": "string"},
                        "ground": _OPTIONAL_TEXT,
                    },
                ),
                "recipients": {"type": "array", "items": {"$ref": "#/$defs/recipient"}},
                "sources": _KEYS,
            },
        ),
        "record_category": _object(
            [
                "category",
                "fields",
                "purposes",
                "legal_bases",
                "retention",
                "due_date",
                "recipients",
            ],
            {
                "category": _KEY,
                "fields": {"type": "array", "items": _TEXT},
                "purposes": _KEYS,
                "legal_bases": {"type": "array", "items": {"enum": LEGAL_BASES}},
                "retention": {"$ref": "#/$defs/retention_rule"},
                "due_date": {"type": ["string", "null"], "format": "date"},
                "recipients": _KEYS,
            },
        ),
        "record": _object(
            list(RECORD_KEYS if version >= 2 else RECORD_KEYS[:-1]),
            {
                "source": _KEY,
                "system": _OPTIONAL_TEXT,
                "record_type": _KEY,
                "record_id": _TEXT,
                "parent": {
                    "oneOf": [
                        _object(
                            ["source", "record_type", "record_id"],
                            {"source": _KEY, "record_type": _KEY, "record_id": _TEXT},
                        ),
                        {"type": "null"},
                    ]
                },
                "link": _OPTIONAL_TEXT,
                "matched": {"oneOf": [{"$ref": "#/$defs/identifier"}, {"type": "null"}]},
                "fields": {"type": "object"},
                "dates": {"type": "object", "additionalProperties": {"type": "string"}},
                **(_RECORD_V1 if version == 1 else _RECORD_V2),
            },
        ),
    }
    if version != 1:
        del defs["record_category"]  # version 1's per-record view of a category
    return defs


# Empty for a record that holds no values now (its vendor left every field empty): it is
# still theirs, with its reference and dates.
_RECORD_V1: dict[str, Any] = {
    "categories": {"type": "array", "items": {"$ref": "#/$defs/record_category"}},
}
_RECORD_V2: dict[str, Any] = {
    "categories": {
        "description": (
            "Per field of the record, the key of its category in categories[] (other: data "
            "outside every category of the privacy statement)."
        ),
        "type": "object",
        "additionalProperties": _KEY,
    },
    "due_dates": {
        "description": (
            "Per category the record has fields in (the policy's order), the last day that "
            "part is kept (its retention period ends that day; it is due to be removed after "
            "it), or null where the record's own dates do not tell."
        ),
        "type": "object",
        "additionalProperties": {"type": ["string", "null"], "format": "date"},
    },
}


def json_schema(schema_id: str, version: int = FORMAT_VERSION) -> dict[str, Any]:
    """The schema of format ``version``, with ``schema_id`` (the URL it is served at) as
    ``$id``."""
    if version not in FORMAT_VERSIONS:
        raise ValueError(f"no export format version {version}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": f"Privacy portal data export, version {version}",
        "description": (
            "A copy of the personal data a firm holds about one person (GDPR art. 15 and 20), "
            "with per category the purposes, legal basis, retention and recipients, and per "
            "source whether it answered. See FORMAT.md."
        ),
        **_object(
            [
                "format",
                "version",
                "schema",
                "exported_at",
                "gathered_at",
                "language",
                "complete",
                "controller",
                "supervisory_authority",
                "subject",
                "sources",
                "categories",
                "records",
            ],
            {
                "format": {"const": FORMAT_NAME},
                "version": {"const": version},
                "schema": {"type": "string", "format": "uri"},
                "exported_at": {"type": "string", "format": "date-time"},
                "gathered_at": {"type": "string", "format": "date-time"},
                "language": {"enum": ["nl", "en"]},
                "complete": {
                    "description": "Whether every source answered completely.",
                    "type": "boolean",
                },
                "controller": {"$ref": "#/$defs/controller"},
                "supervisory_authority": {
                    "oneOf": [{"$ref": "#/$defs/authority"}, {"type": "null"}]
                },
                "subject": _object(
                    ["identifiers"],
                    {"identifiers": {"type": "array", "items": {"$ref": "#/$defs/identifier"}}},
                ),
                "sources": {"type": "array", "items": {"$ref": "#/$defs/source"}},
                "categories": {"type": "array", "items": {"$ref": "#/$defs/category"}},
                "records": {"type": "array", "items": {"$ref": "#/$defs/record"}},
            },
        ),
        "$defs": _defs(version),
    }
