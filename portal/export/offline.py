"""The human-readable parts of the CSV export: README.txt and a self-contained index.html.

Both are rendered in the customer's language from templates in ``templates/export/offline/``.
index.html has no script and refers to nothing outside itself (its CSS is inline), so it reads
the same offline in any browser. Vendor text is shown as text: HTML from ticket bodies loses its
tags (nh3) and everything is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..customer.texts import field_label, record_type_label
from ..gathering.presentation import plain_text
from .document import ExportDocument
from .writers import INDEX_NAME, METADATA_NAME, README_NAME, RecordType


def display(value: Any) -> str:
    """A field value as readable text (nested values as indented lines)."""
    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, Mapping):
        return "\n".join(f"{key}: {display(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return "\n".join(display(item) for item in value)
    return str(value)


class HtmlRecords:
    """Renders records as HTML fragments, with field labels looked up once per field."""

    def __init__(self, document: ExportDocument) -> None:
        self.document = document
        self.sources = document.source_names
        self._labels: dict[tuple[str, str], str] = {}
        self._types: dict[str, str] = {}

    def _label(self, key: str, name: str) -> str:
        found = self._labels.get((key, name))
        if found is None:
            category = self.document.categories[key].category
            found = self._labels[(key, name)] = field_label(category, name, self.document.locale)
        return found

    def _type(self, record_type: str) -> str:
        found = self._types.get(record_type)
        if found is None:
            found = self._types[record_type] = record_type_label(record_type)
        return found

    def record(
        self, key: str, record: Mapping[str, Any], names: list[str], due: str | None
    ) -> Markup:
        """One record's fields of category ``key`` as a table with a caption."""
        fields = record["fields"]
        source = self.sources.get(record["source"], record["source"])
        caption = f"{source}: {self._type(record['record_type'])} {record['record_id']}"
        rows = "".join(
            f'<tr><th scope="row">{escape(self._label(key, name))}</th>'
            f"<td>{escape(display(fields.get(name)))}</td></tr>"
            for name in names
        )
        extra = ""
        if due:
            label = _("To be removed on")
            extra = (
                f'<tr><th scope="row">{escape(label)}</th>'
                f"<td>{escape(day(date.fromisoformat(due)))}</td></tr>"
            )
        if record.get("link"):
            label = _("Where our staff find it")
            extra += (
                f'<tr><th scope="row">{escape(label)}</th><td>{escape(record["link"])}</td></tr>'
            )
        return Markup(  # noqa: S704 - every part above is escaped
            f"<table><caption>{escape(caption)}</caption>{rows}{extra}</table>\n"
        )


def day(value: date) -> str:
    """A date in the customer's language: ``31-12-2026`` in Dutch, ``Dec 31, 2026`` in English."""
    return format_date(value, "short" if _is_dutch() else "medium")


def moment(value: datetime) -> str:
    """A date and time in the customer's language and the firm's time zone."""
    return format_datetime(value, "short" if _is_dutch() else "medium")


def _is_dutch() -> bool:
    from flask_babel import get_locale

    return str(get_locale() or "nl").startswith("nl")


def _context(document: ExportDocument) -> dict[str, Any]:
    return {
        "doc": document,
        "sources": document.sources,
        "day": day,
        "moment": moment,
        "records_html": HtmlRecords(document),
        "readme_name": README_NAME,
        "metadata_name": METADATA_NAME,
        "index_name": INDEX_NAME,
        "locale": document.locale,
        "record_type": record_type_label,
    }


def index_html(document: ExportDocument) -> Iterator[str]:
    """index.html, rendered piece by piece."""
    template = current_app.jinja_env.get_template("export/offline/index.html")
    return template.generate(**_context(document))


def readme(document: ExportDocument, kinds: Iterable[RecordType]) -> Iterator[str]:
    """README.txt: what each file is, the sources and their status, when."""
    template = current_app.jinja_env.get_template("export/offline/README.txt")
    return template.generate(**_context(document), kinds=list(kinds))
