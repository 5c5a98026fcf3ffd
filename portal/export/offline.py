"""The human-readable parts of the CSV export: README.txt and a self-contained index.html.

Both are rendered in the customer's language from templates in ``templates/export/offline/``.
index.html has no script and refers to nothing outside itself (its CSS is inline), so it reads
the same offline in any browser. Vendor text is shown as text: HTML from ticket bodies loses its
tags (nh3) and everything is escaped.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ..customer.texts import (
    CODED_FIELDS,
    FIRM_CHOSEN_SYSTEMS,
    MONEY,
    field_label,
    format_day,
    pairs,
    part_labels,
    readable_moment,
    record_type_label,
    speaks_codes,
    value_words,
)
from ..gathering.presentation import plain_text
from ..settings import firm_today
from .document import ExportDocument
from .writers import (
    BATCH_SIZE,
    FIXED_COLUMNS,
    INDEX_NAME,
    METADATA_NAME,
    README_NAME,
    RecordType,
)

#: Per language, field and names inside a nested value: their labels (an order line's
#: ``quantity`` is "Aantal" in Dutch), as the overview shows them.
_PART_LABELS: dict[tuple[str, str | None, tuple[str, ...]], dict[str, str]] = {}


def _parts(field: str | None, names: tuple[str, ...], locale: str | None) -> dict[str, str]:
    """The labels of the names inside a nested value of ``field`` (a JSON object's keys)."""
    key = (locale or str(get_locale() or "nl"), field, names)
    found = _PART_LABELS.get(key)
    if found is None:
        if len(_PART_LABELS) >= 4096:
            _PART_LABELS.clear()
        found = _PART_LABELS[key] = part_labels(field, names, key[0])
    return found


def display(
    value: Any,
    field: str | None = None,
    locale: str | None = None,
    codes: bool = True,
    part: str | None = None,
) -> str:
    """A field value as readable text (nested values as lines, the names inside in words, as
    they mean under ``field``, in ``locale``: by default the request's); dates, amounts and
    (with ``codes``) a system's codes in words. ``part``: the name inside a nested value."""
    kind = value.__class__
    if kind is str:
        if not value:
            return "–"
        return (
            (codes and value_words(value, field, part))
            or readable_moment(value)
            or plain_text(value)
        )
    if kind is dict:  # the common kinds first, each as the general rules below have it
        labels = _parts(field, tuple(value), locale)
        return (
            "\n".join(
                [
                    f"{labels[key]}: {display(item, field, locale, codes, key)}"
                    for key, item in value.items()
                ]
            )
            or "–"
        )
    if kind is list:
        if not value:
            return "–"
        if codes and (named := pairs(field, value)) is not None:
            return "\n".join(
                [
                    f"{label}: {display(item, field, locale, codes, 'value')}"
                    for label, item in named.items()
                ]
            )
        return "\n".join([display(item, field, locale, codes, part) for item in value])
    if kind is int or kind is float:
        return str(value)
    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        return (
            (codes and value_words(value, field, part))
            or readable_moment(value)
            or plain_text(value)
        )
    if isinstance(value, Mapping):
        labels = _parts(field, tuple(str(key) for key in value), locale)
        return "\n".join(
            f"{labels[str(k)]}: {display(item, field, locale, codes, str(k))}"
            for k, item in value.items()
        )
    if isinstance(value, list | tuple):
        return "\n".join(display(item, field, locale, codes, part) for item in value)
    return str(value)


#: The codes of a record whose fields the firm named: none.
_NO_CODES: frozenset[str] = frozenset()
#: Fields whose text is shown in words in a built-in connector's record: codes and amounts.
_IN_WORDS = CODED_FIELDS | {name for name in MONEY if isinstance(name, str)}

#: The characters :func:`markupsafe.escape` replaces: text without them is its own escaped form
#: (and has no tag for :func:`~portal.gathering.presentation.plain_text` to remove).
_SPECIAL = re.compile(r"[&<>\"']")


def _escaped(text: str) -> str:
    """``markupsafe.escape(text)``, as plain text (no copy when there is nothing to escape)."""
    return escape(text) if _SPECIAL.search(text) else text


class HtmlRecords:
    """Renders records as HTML fragments: labels, captions and due dates worked out once.

    :meth:`section` renders a category's records a batch at a time, from one pass over the
    records that notes, per category, where its records are (a few bytes per record). The rows
    of a record are filled into a template made once per record plan and category; a value goes
    through :func:`display` and :func:`markupsafe.escape` unless it is text without any
    character either would change.
    """

    def __init__(self, document: ExportDocument) -> None:
        self.document = document
        self.sources = document.source_names
        self.locale = document.locale
        self._heads: dict[tuple[str, str, str], str] = {}
        self._types: dict[str, str] = {}
        self._captions: dict[tuple[str, str], str] = {}
        self._due_rows: dict[str, str] = {}
        self._positions: dict[str, array[int]] | None = None
        self._empty: array[int] | None = None
        self._due_label = escape(_("Kept until"))
        self._link_label = escape(_("Where our staff find it"))
        self._through_label = escape(_("Found through"))
        self._kept_through = escape(_("What we must keep by law after your request to erase"))
        self._today = firm_today()
        self._ended = _("the retention period has ended; you may ask us to erase it")

    def _head(self, key: str, name: str, record_type: str) -> str:
        """The start of a field's row, up to its value."""
        found = self._heads.get((key, name, record_type))
        if found is None:
            category = self.document.categories[key].category
            label = field_label(category, name, self.document.locale, record_type)
            found = self._heads[(key, name, record_type)] = (
                f'<tr><th scope="row">{escape(label)}</th><td>'
            )
        return found

    def _rows(self, key: str, names: list[str], record_type: str) -> str:
        """The rows of these fields, a ``%s`` for each value (``%`` formatting)."""
        return "".join(
            [
                self._head(key, name, record_type).replace("%", "%%") + "%s</td></tr>"
                for name in names
            ]
        )

    def _type(self, record_type: str) -> str:
        found = self._types.get(record_type)
        if found is None:
            found = self._types[record_type] = record_type_label(record_type)
        return found

    def _caption(self, source: str, record_type: str) -> str:
        """The escaped caption of a record up to its id."""
        found = self._captions.get((source, record_type))
        if found is None:
            found = self._captions[(source, record_type)] = escape(
                f"{self.sources.get(source, source)}: {self._type(record_type)} "
            )
        return found

    def _through_row(self, record: Mapping[str, Any]) -> str:
        """The row naming the record of another system this one was found through (a payment
        through its web shop order), or saying it was read again as a record the firm keeps
        by law after an erasure, else nothing."""
        parent = record.get("parent")
        if not parent and record.get("matched", False) is None:  # read again as kept
            label = self._through_label
            return f'<tr><th scope="row">{label}</th><td>{self._kept_through}</td></tr>'
        if not parent or parent.get("source") == record["source"]:
            return ""
        caption = self._caption(str(parent.get("source")), str(parent.get("record_type")))
        return (
            f'<tr><th scope="row">{self._through_label}</th>'
            f"<td>{caption}{escape(str(parent.get('record_id')))}</td></tr>"
        )

    def _due_row(self, due: str) -> str:
        found = self._due_rows.get(due)
        if found is None:
            on = date.fromisoformat(due)
            when = escape(format_day(on))
            if on < self._today:
                when += escape(" (" + self._ended + ")")
            found = self._due_rows[due] = (
                f'<tr><th scope="row">{self._due_label}</th><td>{when}</td></tr>'
            )
        return found

    def _positions_of(self, key: str) -> array[int]:
        if self._positions is None:
            self._positions = self.document.part_indexes()
        return self._positions[key]

    def count(self, key: str) -> int:
        """How many records have fields in category ``key``."""
        return len(self._positions_of(key))

    def came_from(self, key: str, listed: Iterable[str] = ()) -> list[str]:
        """The names of the systems the customer's records in category ``key`` came from (in
        the order of the sources), else of those the policy lists for it (``listed``)."""
        records = self.document.records
        found = {records[i]["source"] for i in self._positions_of(key)} or set(listed)
        ordered = [k for k in self.sources if k in found] + sorted(found - set(self.sources))
        return [self.sources.get(k, k) for k in ordered]

    def _empty_positions(self) -> array[int]:
        if self._empty is None:
            self._empty = self.document.positions_without_fields()
        return self._empty

    def count_without_values(self) -> int:
        """How many records hold no values (the system left every field empty)."""
        return len(self._empty_positions())

    def without_values(self) -> Iterator[Markup]:
        """The records without values as list items (where from, their id, where staff find
        them), a batch at a time: they are the customer's too."""
        records = self.document.records
        pieces: list[str] = []
        for record in map(records.__getitem__, self._empty_positions()):
            caption = self._caption(record["source"], record["record_type"])
            link = record["link"]
            where = f" ({self._link_label}: {escape(link)})" if link else ""
            pieces.append(f"<li>{caption}{escape(record['record_id'])}{where}</li>\n")
            if len(pieces) >= BATCH_SIZE:
                yield Markup("".join(pieces))  # noqa: S704 - escaped above
                pieces.clear()
        if pieces:
            yield Markup("".join(pieces))  # noqa: S704 - escaped above

    def section(self, key: str) -> Iterator[Markup]:
        """Every record's fields of category ``key`` as tables, a batch of records at a time."""
        document = self.document
        records = document.records
        groups = document.groups
        special = _SPECIAL.search
        locale = self.locale
        coded = _IN_WORDS
        #: A system's code in a field, in words (escaped): looked up once per export.
        worded: dict[tuple[str, str], str] = {}

        def shown(name: str, value: Any, codes: bool) -> str:
            if codes and value.__class__ is str and name in coded:
                found = worded.get((name, value))
                if found is None:
                    found = worded[(name, value)] = _escaped(display(value, name, locale))
                return found
            return _escaped(display(value, name, locale, codes))

        #: Per record type and tuple of field names here: their rows' template.
        templates: dict[tuple[str, ...], str] = {}
        pieces: list[str] = []
        for record in map(records.__getitem__, self._positions_of(key)):
            fields = record["fields"]
            names = groups(record)[key]
            record_type = record["record_type"]
            template = templates.get(shape := (record_type, *names))
            if template is None:
                template = templates[shape] = self._rows(key, names, record_type)
            due = record["due_dates"][key]
            due_row = self._due_row(due) if due else ""
            codes = record["system"] not in FIRM_CHOSEN_SYSTEMS
            here = coded if codes else _NO_CODES
            rows = template % tuple(
                [
                    value
                    if value.__class__ is str
                    and value
                    and not special(value)
                    and value[4:5] != "-"  # no ISO date (shown in words)
                    and name not in here  # no system's code (shown in words)
                    else shown(name, value, codes)
                    for name, value in zip(names, map(fields.get, names), strict=True)
                ]
            )
            record_id = record["record_id"]
            if special(record_id):
                record_id = escape(record_id)
            link = record["link"]
            if link:
                due_row += (
                    f'<tr><th scope="row">{self._link_label}</th><td>{escape(link)}</td></tr>'
                )
            if record.get("parent") or record.get("matched", False) is None:
                due_row += self._through_row(record)
            caption = self._caption(record["source"], record["record_type"])
            pieces.append(
                f'<table class="record"><caption>{caption}{record_id}</caption>'
                f"{rows}{due_row}</table>\n"
            )
            if len(pieces) >= BATCH_SIZE:
                yield Markup("".join(pieces))  # noqa: S704 - escaped above
                pieces.clear()
        if pieces:
            yield Markup("".join(pieces))  # noqa: S704 - escaped above

    def record(
        self, key: str, record: Mapping[str, Any], names: list[str], due: str | None
    ) -> Markup:
        """One record's fields of category ``key`` as a table with a caption."""
        return Markup(self._html(key, record, names, due))  # noqa: S704 - escaped in _html

    def _html(self, key: str, record: Mapping[str, Any], names: list[str], due: str | None) -> str:
        fields = record["fields"]
        source = record["source"]
        caption = escape(
            f"{self.sources.get(source, source)}: {self._type(record['record_type'])} "
            f"{record['record_id']}"
        )
        head = self._head
        codes = speaks_codes(record)
        record_type = record["record_type"]
        rows = "".join(
            [
                f"{head(key, name, record_type)}"
                f"{escape(display(fields.get(name), name, self.locale, codes))}"
                "</td></tr>"
                for name in names
            ]
        )
        due_row = self._due_row(due) if due else ""
        link = record.get("link")
        if link:
            due_row += f'<tr><th scope="row">{self._link_label}</th><td>{escape(link)}</td></tr>'
        due_row += self._through_row(record)
        return f'<table class="record"><caption>{caption}</caption>{rows}{due_row}</table>\n'


def moment(value: datetime) -> str:
    """A date and time in the customer's language and the firm's time zone."""
    return format_datetime(value, "medium")


#: How a source answered, in the customer's words.
STATUSES = {
    "complete": _l("Complete"),
    "partial": _l("Partly"),
    "skipped": _l("Not consulted"),
    "failed": _l("Failed"),
}


def status(value: str) -> str:
    """A source's status in words (an unknown one as it is)."""
    found = STATUSES.get(value)
    return str(found) if found is not None else value


def _portal_url() -> str | None:
    """The portal's address as the firm configured it (``base_url``, as in the e-mails), not
    as this request reached it (behind a proxy that may be an internal address)."""
    if not has_request_context():
        return None
    return current_app.extensions["portal.settings"].public_url(url_for("customer.overview"))


def _context(document: ExportDocument) -> dict[str, Any]:
    return {
        "doc": document,
        "sources": document.sources,
        "day": format_day,
        "moment": moment,
        "records_html": HtmlRecords(document),
        "readme_name": README_NAME,
        "metadata_name": METADATA_NAME,
        "index_name": INDEX_NAME,
        "locale": document.locale,
        "record_type": record_type_label,
        "status": status,
        "portal_url": _portal_url(),
    }


def index_html(document: ExportDocument) -> Iterator[str]:
    """index.html, rendered piece by piece."""
    template = current_app.jinja_env.get_template("export/offline/index.html")
    return template.generate(**_context(document))


def readme(document: ExportDocument, kinds: Iterable[RecordType]) -> Iterator[str]:
    """README.txt: what each file is, the sources and their status, when, and what the
    columns of each CSV file hold (:func:`column_labels`)."""
    template = current_app.jinja_env.get_template("export/offline/README.txt")
    kinds = list(kinds)
    labels = {kind.filename: column_labels(document, kind) for kind in kinds}
    return template.generate(**_context(document), kinds=kinds, column_labels=labels)


def column_labels(document: ExportDocument, kind: RecordType) -> list[tuple[str, str]]:
    """The field columns of ``kind``'s CSV file, each with what it holds in words as the
    overview labels it (``first_name``: "Voornaam"), where that says more than the column's
    name: the CSV header keeps the systems' own names, which read the same in every language
    and every export."""
    start = len(FIXED_COLUMNS)
    columns = kind.columns[start : start + len(kind.fields)]
    categories = [info.category for info in document.categories.values() if info.category]
    found = []
    for column, name in zip(columns, kind.fields, strict=True):
        category = next((c for c in categories if any(f.key == name for f in c.fields)), None)
        label = field_label(category, name, document.locale, kind.record_type)
        if label.casefold() != name.replace("_", " ").casefold():
            found.append((column, label))
    return found
