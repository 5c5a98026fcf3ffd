"""Gathering a customer's data from the firm's sources (the portal side of ``connectors``)."""

from .services import (
    Snapshot,
    SourceOutcome,
    current_or_gather,
    gather_for,
    latest,
    purge_expired,
)
from .sources import BuiltSources, build_sources, source_config

__all__ = [
    "BuiltSources",
    "Snapshot",
    "SourceOutcome",
    "build_sources",
    "current_or_gather",
    "gather_for",
    "latest",
    "purge_expired",
    "source_config",
]
