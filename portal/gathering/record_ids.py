"""Rows of the firm's own files that were stored by their identifier in the clear.

Before the files connector made pseudonymous ids of rows keyed on an identifier column
(:func:`connectors.files.pseudonymous_id`), such a row's id was its value: ``klanten:1042``,
``klanten:jan@x.nl``. The changes the portal owes at those rows (``request_actions``, a record
kept by law for years) still name them so. :func:`pseudonymise_files_ids` rewrites those ids
into the form the connector gives the same row now: the customer's identifier leaves the
portal's database, and a kept record's follow-up and a correction's row are found under the
id a gathering reports. It runs with every retention sweep (:func:`portal.retention.purge`),
so also for an id kept before a firm moved a source's ``id_column`` to an identifier column.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import and_, or_, select

from connectors.errors import NotConfigured
from connectors.files import (
    PSEUDONYM_LENGTH,
    FileSource,
    is_pseudonymous,
    parse_source,
    pseudonymous_id,
)

from ..extensions import db
from ..models import RequestAction
from ..policy import current_policy
from .sources import source_config


def pseudonymise_files_ids() -> int:
    """Rewrite every stored clear id of a row of a files source keyed on an identifier column
    into its pseudonymous id, in ``instructions`` too. Returns how many; flushes nothing (the
    caller's transaction holds the changes).

    A source whose settings are invalid is left alone (its connector cannot be built either).
    """
    settings = current_app.extensions["portal.settings"]
    instance = Path(current_app.instance_path)
    count = 0
    for source in current_policy().sources:
        if source.connector != "files":
            continue
        config = source_config(source, settings.connectors.get(source.key, {}), instance)
        try:
            parsed = [parse_source(i, raw) for i, raw in enumerate(config.get("sources") or ())]
        except NotConfigured:
            continue
        keyed = {s.name: s for s in parsed if s.id_kind is not None}
        if not keyed:
            continue
        # only ids of those files that are not pseudonyms already (the sweep runs daily,
        # for years of changes): ``<name>:h-`` and PSEUDONYM_LENGTH characters
        clear = or_(
            *(
                and_(
                    RequestAction.record_id.like(f"{_like(name)}:%", escape="\\"),
                    RequestAction.record_id.not_like(
                        f"{_like(name)}:h-{'_' * PSEUDONYM_LENGTH}", escape="\\"
                    ),
                )
                for name in keyed
            )
        )
        for action in db.session.scalars(
            select(RequestAction).where(RequestAction.source == source.key, clear)
        ):
            name, separator, value = action.record_id.partition(":")
            file_source = keyed.get(name)
            if not separator or file_source is None or is_pseudonymous(action.record_id):
                continue
            _rewrite(action, file_source, config["record_id_key"], value)
            count += 1
    return count


def _like(text: str) -> str:
    """``text`` for a LIKE pattern, its wildcards escaped (with a backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _rewrite(action: RequestAction, source: FileSource, key: str, value: str) -> None:
    """``action``'s record id as the pseudonym of ``value``; its instructions without the
    value (they said ``row where column 'Klantnummer' = 1042`` or ``#klanten:1042``)."""
    assert source.id_kind is not None and source.keyed_row is not None
    new_id = f"{source.name}:{pseudonymous_id(key, source.name, source.id_kind, value)}"
    if action.instructions:
        row = f"row where column {source.id_column!r} = {value}"
        action.instructions = action.instructions.replace(row, source.keyed_row).replace(
            action.record_id, new_id
        )
    action.record_id = new_id
