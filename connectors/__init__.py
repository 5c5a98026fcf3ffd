"""Connectors: read what a firm's systems hold about one customer, matched exactly.

Importable and testable without Flask; never imports :mod:`portal`. The public surface:

* identifiers: :class:`Identifier`, :class:`Identity`, :class:`IdentifierKind` and the
  normalisers in :mod:`connectors.identity`;
* the interface: :class:`Connector`, :class:`BaseConnector`, :class:`Record`,
  :class:`RecordRef`, :class:`Capability`, :class:`ConfigField`, :class:`FetchResult`,
  :class:`Health`;
* writing back: :class:`CorrectableField`, :class:`FieldKind`, :data:`ErasureAction`,
  :class:`ErasureOutcome`;
* the registry: :func:`register`, :func:`get`, :func:`available`, :func:`create`,
  :func:`build_all`;
* gathering: :func:`gather`, :class:`GatherResult`, :class:`SourceResult`,
  :class:`SourceStatus`;
* errors: :class:`ConnectorError` and subclasses, :class:`ErrorKind`;
* HTTP: :class:`Deadline`, :class:`RetryPolicy`.
"""

from .base import (
    CATEGORY_KEYS,
    BaseConnector,
    Capability,
    ConfigField,
    Connector,
    CorrectableField,
    ErasureAction,
    ErasureOutcome,
    FetchResult,
    FieldKind,
    Health,
    MissingPart,
    Record,
    RecordRef,
)
from .errors import (
    AuthFailed,
    BadResponse,
    ConnectorError,
    ErrorKind,
    IdentityMismatch,
    NotConfigured,
    NotFound,
    NotSupported,
    PaginationLoop,
    RateLimited,
    RecordRefused,
    RequestRejected,
    SourceTimeout,
    SourceUnavailable,
)
from .gather import GatherResult, SourceResult, SourceStatus, gather
from .http import Deadline, RetryPolicy
from .identity import (
    Identifier,
    IdentifierKind,
    Identity,
    InvalidIdentifier,
    normalize,
    normalize_customer_number,
    normalize_email,
    normalize_phone,
)
from .registry import available, build_all, create, get, register

__all__ = [
    "CATEGORY_KEYS",
    "AuthFailed",
    "BadResponse",
    "BaseConnector",
    "Capability",
    "ConfigField",
    "Connector",
    "ConnectorError",
    "CorrectableField",
    "Deadline",
    "ErasureAction",
    "ErasureOutcome",
    "ErrorKind",
    "FetchResult",
    "FieldKind",
    "GatherResult",
    "Health",
    "Identifier",
    "IdentifierKind",
    "Identity",
    "IdentityMismatch",
    "InvalidIdentifier",
    "MissingPart",
    "NotConfigured",
    "NotFound",
    "NotSupported",
    "PaginationLoop",
    "RateLimited",
    "Record",
    "RecordRef",
    "RecordRefused",
    "RequestRejected",
    "RetryPolicy",
    "SourceResult",
    "SourceStatus",
    "SourceTimeout",
    "SourceUnavailable",
    "available",
    "build_all",
    "create",
    "gather",
    "get",
    "normalize",
    "normalize_customer_number",
    "normalize_email",
    "normalize_phone",
    "register",
]
