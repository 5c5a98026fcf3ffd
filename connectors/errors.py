"""Typed errors raised by connectors, and the stable error *kinds* the portal translates.

Every failure of a data source ends up as a :class:`ConnectorError` subclass. Each class carries
a ``kind`` (see :class:`ErrorKind`): a short, stable string that the portal turns into a Dutch or
English message. Messages on these exceptions are for logs and developers only; they name the
vendor, the HTTP method, the endpoint path (never a query string) and the status, and they never
contain credentials or personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .http import RequestStats


class ErrorKind(StrEnum):
    """Stable machine-readable reasons why a source failed or was skipped."""

    DOWN = "down"
    """The source could not be reached or answered with a server error."""
    TIMEOUT = "timeout"
    """The source did not answer within the time budget."""
    RATE_LIMITED = "rate_limited"
    """The source asked us to wait longer than the remaining time budget."""
    AUTH = "auth"
    """Credentials are missing, wrong, expired or lack permissions."""
    BAD_DATA = "bad_data"
    """The source answered with malformed or unexpectedly shaped data."""
    NOT_FOUND = "not_found"
    """The addressed object does not exist (or no longer exists)."""
    REJECTED = "rejected"
    """The source refused the request as invalid (validation error, conflict)."""
    MISMATCH = "mismatch"
    """A write was refused because the target no longer matches the verified identity."""
    NOT_CONFIGURED = "not_configured"
    """The connector's configuration is missing or invalid."""
    NOT_SUPPORTED = "not_supported"
    """The connector does not offer this capability."""
    NO_IDENTIFIER = "no_identifier"
    """None of the customer's verified identifiers can be looked up in this source."""
    INTERNAL = "internal"
    """A bug in a connector: an unexpected exception escaped it."""


class ConnectorError(Exception):
    """Base class of every error a connector raises on purpose.

    :param message: developer-facing text without personal data or secrets.
    :param vendor: the connector slug, when known.
    :param status: the HTTP status involved, when there was one.
    """

    kind: ErrorKind = ErrorKind.INTERNAL
    #: Whether an idempotent request that failed like this may be retried.
    retryable: bool = False
    #: The request counters of the fetch this error ended, up to the failure (set by
    #: :meth:`~connectors.base.BaseConnector.fetch`), else ``None``.
    stats: RequestStats | None = None

    def __init__(self, message: str, *, vendor: str | None = None, status: int | None = None):
        super().__init__(message)
        self.vendor = vendor
        self.status = status


class SourceUnavailable(ConnectorError):
    """The source is down: connection refused or reset, DNS failure, or a 5xx answer.

    :param retry_after: seconds the source asked us to wait (a 503's ``Retry-After``, e.g.
        during maintenance), or ``None`` if it did not say.
    """

    kind = ErrorKind.DOWN
    retryable = True
    #: True when the connection was never made, so even a write may safely be retried.
    connect_failed = False

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        vendor: str | None = None,
        status: int | None = None,
    ):
        super().__init__(message, vendor=vendor, status=status)
        self.retry_after = retry_after


class SourceTimeout(SourceUnavailable):
    """The source did not answer in time, or the overall time budget ran out."""

    kind = ErrorKind.TIMEOUT


class RateLimited(ConnectorError):
    """The source answered 429 (Too Many Requests).

    :param retry_after: seconds the source asked us to wait, or ``None`` if it did not say.
    """

    kind = ErrorKind.RATE_LIMITED
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        vendor: str | None = None,
        status: int | None = 429,
    ):
        super().__init__(message, vendor=vendor, status=status)
        self.retry_after = retry_after


class AuthFailed(ConnectorError):
    """The source refused our credentials (401/403, expired token, missing permission)."""

    kind = ErrorKind.AUTH


class BadResponse(ConnectorError):
    """The source answered with malformed JSON, or valid JSON of a shape we cannot rely on."""

    kind = ErrorKind.BAD_DATA


class PaginationLoop(BadResponse):
    """A paginated list handed out a next-page URL or cursor it had already given."""


@dataclass(frozen=True)
class Answer:
    """What an HTTP error answer held, for code that must tell answers of one status apart
    (a vendor's "no such record" from a wrong URL's 404). Never part of a message: the body
    may quote personal data.

    :ivar status: the HTTP status.
    :ivar json: whether the answer's ``Content-Type`` says JSON.
    :ivar body: the decoded JSON body; ``None`` when it is empty or not JSON.
    """

    status: int
    json: bool
    body: object


class NotFound(ConnectorError):
    """The addressed object does not exist at the source (404 or 410).

    :param answer: the HTTP answer that said so; ``None`` when a connector concluded it
        from a successful answer (e.g. an order that is already anonymised).
    """

    kind = ErrorKind.NOT_FOUND

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        status: int | None = None,
        answer: Answer | None = None,
    ):
        super().__init__(message, vendor=vendor, status=status)
        self.answer = answer


class RequestRejected(ConnectorError):
    """The source refused the request itself (400, 409, 422 ...): usually a bug or bad input."""

    kind = ErrorKind.REJECTED


class RecordRefused(RequestRejected):
    """The source refused access to one record (a 403 on a request that names one record):
    our credentials work, but may not read or change this one (a WooCommerce key editing a
    shop manager, ``woocommerce_rest_cannot_edit``; a Zammad ticket outside the agent's
    groups; a Mollie payment of another profile). Not a credentials failure of the source.
    """


class IdentityMismatch(ConnectorError):
    """The record to correct or erase no longer matches the customer's verified identity.

    Raised before anything is written: the vendor record changed hands (e.g. its e-mail was
    edited) between gathering and the write, so writing would touch someone else's data.
    """

    kind = ErrorKind.MISMATCH


class NotConfigured(ConnectorError):
    """The connector's configuration is missing a required key or has a wrong value.

    The message names the key, never its value.
    """

    kind = ErrorKind.NOT_CONFIGURED


class NotSupported(ConnectorError):
    """The connector does not offer the requested capability (e.g. erasure).

    :param reason: a stable code saying why, when the API cannot do it for this one record
        while it can for others (Freshdesk: ``marked_spam``); the portal words it for staff.
    """

    kind = ErrorKind.NOT_SUPPORTED

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        status: int | None = None,
        reason: str | None = None,
    ):
        super().__init__(message, vendor=vendor, status=status)
        self.reason = reason
