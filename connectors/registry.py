"""The connector registry: connector classes by slug, built-ins plus entry-point plugins.

Built-in connectors register themselves with :func:`register` when their module is imported.
Third-party packages add connectors through the entry-point group
``privacy_portal.connectors``: each entry point loads a :class:`~connectors.base.BaseConnector`
subclass (or any class satisfying :class:`~connectors.base.Connector`), registered under its
``name``. A broken plugin is logged and skipped; it never breaks the built-ins.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, TypeVar

import httpx

from .base import BaseConnector
from .errors import NotConfigured
from .http import RetryPolicy

log = logging.getLogger(__name__)

#: Entry-point group third-party connectors register in.
ENTRY_POINT_GROUP = "privacy_portal.connectors"

#: Modules of the built-in connectors, imported on first use of the registry.
BUILTIN_MODULES = (
    "connectors.woocommerce",
    "connectors.moneybird",
    "connectors.zammad",
    "connectors.freshdesk",
    "connectors.mollie",
    "connectors.files",
)

C = TypeVar("C", bound=type[BaseConnector])

_registry: dict[str, type[BaseConnector]] = {}
_loaded = False
#: A queue worker's threads may all ask for a connector at once: one loads, the others wait
#: for it (re-entrant: a module being imported may itself look in the registry).
_loading = threading.RLock()


def register(cls: C) -> C:
    """Class decorator: register a connector class under its ``name``.

    :raises ValueError: if the class has no ``name`` or another class holds that slug.
    """
    slug = getattr(cls, "name", None)
    if not isinstance(slug, str) or not slug:
        raise ValueError(f"{cls.__qualname__} has no connector name")
    existing = _registry.get(slug)
    if existing is not None and existing is not cls:
        raise ValueError(f"connector {slug!r} is already registered by {existing.__qualname__}")
    _registry[slug] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    with _loading:
        if _loaded:
            return
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                cls = entry_point.load()
                if entry_point.name != getattr(cls, "name", None):
                    raise ValueError("entry-point name differs from the class's name")
                register(cls)
            except Exception as exc:  # a broken plugin must not take the portal down
                log.error(
                    "connector plugin %s not loaded: %s", entry_point.name, type(exc).__name__
                )
        # Only now: a thread that saw _loaded before the imports ended found no connectors.
        _loaded = True


def available() -> dict[str, type[BaseConnector]]:
    """Return every known connector class by slug (built-ins and plugins)."""
    _load()
    return dict(sorted(_registry.items()))


def get(slug: str) -> type[BaseConnector]:
    """Return the connector class registered as ``slug``.

    :raises NotConfigured: if there is none.
    """
    _load()
    try:
        return _registry[slug]
    except KeyError:
        raise NotConfigured(f"no connector named {slug!r}") from None


def create(
    slug: str,
    config: Mapping[str, Any],
    *,
    instance_name: str | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> BaseConnector:
    """Build a connector instance from its config section.

    :raises NotConfigured: unknown slug or invalid config.
    """
    return get(slug)(config, instance_name=instance_name, transport=transport, retry=retry)


def build_all(
    sections: Mapping[str, Mapping[str, Any]],
    *,
    retry: RetryPolicy | None = None,
) -> dict[str, BaseConnector]:
    """Build every configured source from ``{instance name: config section}``.

    A section's connector slug is its ``connector`` key, or else the instance name itself, so
    ``[connectors.zammad]`` just works and ``[connectors.shop2] connector = "woocommerce"``
    adds a second shop. A section with ``enabled = false`` is left out.

    :raises NotConfigured: for an unknown slug or an invalid section (instances built so far
        are closed first).
    """
    built: dict[str, BaseConnector] = {}
    try:
        for instance, section in sections.items():
            config = dict(section)
            slug = str(config.pop("connector", instance))
            if not config.pop("enabled", True):
                continue
            built[instance] = create(slug, config, instance_name=instance, retry=retry)
    except Exception:
        for connector in built.values():
            connector.close()
        raise
    return built
