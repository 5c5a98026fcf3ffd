"""Building the firm's connectors from its policy (what feeds which category) and its
deployment settings (where and with which credentials)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors import registry
from connectors.base import BaseConnector
from connectors.errors import ErrorKind, NotConfigured
from connectors.http import RetryPolicy

from ..crypto import keyed_hash
from ..policy import Policy, Source

#: :func:`~portal.crypto.keyed_hash` purpose of the files connector's ``record_id_key``.
RECORD_ID_PURPOSE = "files-record-id"


@dataclass
class BuiltSources:
    """The connectors that could be built, and why the others could not."""

    connectors: dict[str, BaseConnector] = field(default_factory=dict)
    unavailable: dict[str, ErrorKind] = field(default_factory=dict)

    def close(self) -> None:
        """Close every connector's HTTP pool."""
        for connector in self.connectors.values():
            connector.close()


def source_config(source: Source, deployment: Mapping[str, Any], instance: Path) -> dict[str, Any]:
    """One connector's config: the policy's non-secret options, then the deployment section.

    Relative file paths of the files connector are resolved inside the instance folder, the
    policy's ``field_categories`` become the connector's category overrides, and the files
    connector gets the key of its pseudonymous row ids (:data:`RECORD_ID_PURPOSE`), derived
    from the application secret and the source's key: a row's id stays the same as long as
    both do. Needs the application context.
    """
    config: dict[str, Any] = copy.deepcopy(dict(source.options))
    config.update(copy.deepcopy(dict(deployment)))
    config.pop("connector", None)
    if source.field_categories:
        config["categories"] = {**dict(source.field_categories), **config.get("categories", {})}
    if source.connector == "files":
        config["record_id_key"] = keyed_hash(RECORD_ID_PURPOSE, source.key)
    for entry in config.get("sources", ()) if source.connector == "files" else ():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            path = Path(entry["path"])
            entry["path"] = str(path if path.is_absolute() else instance / path)
    return config


def build_sources(
    policy: Policy,
    deployment: Mapping[str, Mapping[str, Any]],
    instance: Path,
    *,
    retry: RetryPolicy | None = None,
) -> BuiltSources:
    """Build a connector for every source of the policy.

    A source whose connector is unknown, or whose settings are missing or wrong, is reported as
    ``not_configured`` rather than failing the whole gathering.
    """
    built = BuiltSources()
    for source in policy.sources:
        if source.connector != "files" and source.key not in deployment:
            built.unavailable[source.key] = ErrorKind.NOT_CONFIGURED
            continue
        config = source_config(source, deployment.get(source.key, {}), instance)
        if config.pop("enabled", True) is False:
            continue
        try:
            built.connectors[source.key] = registry.create(
                source.connector, config, instance_name=source.key, retry=retry
            )
        except NotConfigured:
            built.unavailable[source.key] = ErrorKind.NOT_CONFIGURED
    return built
