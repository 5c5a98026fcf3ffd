"""The one HTTP layer every vendor connector uses, built on httpx and tenacity.

* :class:`HttpClient`: one pooled :class:`httpx.Client` per connector instance, with explicit
  timeouts, no redirects and no proxy surprises. Close it (or use it as a context manager).
* :class:`HttpSession`: a light per-gathering view on the client that carries the
  :class:`Deadline` and counts requests, so concurrent gatherings never share counters. One
  session may be used from several threads at once (a source's linked records are read
  concurrently): its counters are kept under a lock, and the client's pool is thread-safe.
* Retries go through :mod:`tenacity`: exponential backoff with jitter on network errors, 5xx and
  429, for idempotent requests only (a connection that was never made is retried for any
  method). A ``Retry-After`` of a 429 or a 503 (maintenance) is honoured when it fits in the
  remaining time budget; otherwise :class:`~connectors.errors.RateLimited` (429) or
  :class:`~connectors.errors.SourceUnavailable` (503) is raised at once, carrying the
  retry-after.
* A response body is read in chunks: the deadline holds while it comes in
  (:class:`~connectors.errors.SourceTimeout`), and a body above :data:`MAX_BODY_BYTES` is a
  :class:`~connectors.errors.BadResponse`.
* :func:`error_for_response` maps every HTTP outcome to the typed errors of
  :mod:`connectors.errors`, in one place.

Logging: vendor, method, endpoint *path* (never the query string, which may hold an e-mail
address or phone number; personal path segments are logged as their template), status, attempt
and duration. Never credentials, never personal data.
"""

from __future__ import annotations

import email.utils
import hashlib
import itertools
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception

from .errors import (
    Answer,
    AuthFailed,
    BadResponse,
    ConnectorError,
    NotFound,
    RateLimited,
    RecordRefused,
    RequestRejected,
    SourceTimeout,
    SourceUnavailable,
)

log = logging.getLogger(__name__)


class _DropRequestLines(logging.Filter):
    """Drop httpx's own "HTTP Request: GET <full URL>" lines: the URL's query string may hold
    an e-mail address or phone number. Our own log line (path only) replaces them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("HTTP Request:")


logging.getLogger("httpx").addFilter(_DropRequestLines())

#: Methods that may be repeated without changing anything at the source.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Statuses worth another try.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})

DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=15.0, write=15.0, pool=3.0)
#: The largest response body read (after decompression). Pages of 100 records are far
#: smaller; a larger body is a misbehaving server, and holding it would exhaust memory.
MAX_BODY_BYTES = 32 * 1024 * 1024

Params = Mapping[str, str | int | float | bool | None]


class Deadline:
    """A point in (monotonic) time by which a gathering must be done.

    ``Deadline(None)`` never expires. Pass one deadline down through every call of one
    gathering, so that retries and ``Retry-After`` waits respect the overall budget.
    """

    def __init__(self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._at = None if seconds is None else clock() + seconds

    def remaining(self) -> float:
        """Seconds left (``math.inf`` without a deadline, never negative)."""
        if self._at is None:
            return math.inf
        return max(0.0, self._at - self._clock())

    @property
    def expired(self) -> bool:
        """Whether no time is left."""
        return self.remaining() <= 0.0

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.3f})"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Tests pass ``sleep`` and zero backoff.

    :param attempts: total tries per request, including the first.
    :param backoff_initial: first backoff in seconds; doubled per retry.
    :param backoff_max: cap of one backoff.
    :param jitter: up to this many seconds of random jitter are added to each backoff.
    :param sleep: the function that waits (``time.sleep``).
    """

    attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    jitter: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based), with jitter."""
        base = min(self.backoff_max, self.backoff_initial * 2 ** (retry_number - 1))
        return base + (random.uniform(0, self.jitter) if self.jitter > 0 else 0.0)  # noqa: S311


@dataclass
class RequestStats:
    """Counters for one gathering (one :class:`HttpSession`). No URLs or personal data.

    Safe to update from several threads at once: every change goes through a method that holds
    the counters' lock (``+=`` on an attribute is not atomic between threads).
    """

    #: Logical requests made (a retried request counts once).
    requests: int = 0
    #: HTTP attempts, including retries.
    attempts: int = 0
    #: Logical requests whose method and full URL had already been requested in this session.
    duplicates: int = 0
    #: Seconds spent waiting between attempts.
    waited: float = 0.0
    _seen: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def note_request(self, method: str, url: httpx.URL, body: bytes) -> None:
        """Count a logical request; remember only a hash of it to spot duplicates."""
        key = hashlib.sha256(f"{method} {url}".encode() + b"\0" + body).hexdigest()
        with self._lock:
            self.requests += 1
            if key in self._seen:
                self.duplicates += 1
            self._seen.add(key)

    def note_attempt(self) -> int:
        """Count an HTTP attempt; return how many this session has made, this one included."""
        with self._lock:
            self.attempts += 1
            return self.attempts

    def note_wait(self, seconds: float) -> None:
        """Count ``seconds`` waited before a retry."""
        with self._lock:
            self.waited += seconds


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds, or ``None``.

    A number that is no finite one (``1e999``, ``nan``) is ``None`` too: it cannot be waited
    for, and a retry-after of infinity is no JSON number where it is reported or stored.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for_response(vendor: str, method: str, path: str, response: httpx.Response) -> None:
    """Raise the typed error for a non-2xx ``response``; return for a 2xx one.

    401/402 → :class:`AuthFailed`; 403 → :class:`AuthFailed`, except for a request that names
    one record (:func:`_one_record`), which the vendor refused us for that record only
    (:class:`RecordRefused`: the key works, a health check or list shows when it does not);
    404/410 → :class:`NotFound`, 429 → :class:`RateLimited`, 500/502/503/504 →
    :class:`SourceUnavailable` (retryable), other 5xx → non-retryable
    :class:`SourceUnavailable`, other 4xx (and unexpected 1xx/3xx) → :class:`RequestRejected`.
    The ``Retry-After`` of a 429 or 503 is carried as the error's ``retry_after``.
    Vendor error bodies are not copied into the message: they may quote personal data.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    where = f"{vendor}: {method} {path} -> {status}"
    if status == 403 and _one_record(path, response):
        raise RecordRefused(f"{where}: refused for this record", vendor=vendor, status=status)
    if status in (401, 402, 403):
        raise AuthFailed(f"{where}: credentials refused", vendor=vendor, status=status)
    if status in (404, 410):
        raise NotFound(
            f"{where}: not found", vendor=vendor, status=status, answer=_answer(response)
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise RateLimited(f"{where}: rate limited", retry_after=retry_after, vendor=vendor)
    if status >= 500:
        # a 503 says when to come back (maintenance, an overloaded host)
        retry_after = (
            parse_retry_after(response.headers.get("Retry-After")) if status == 503 else None
        )
        error = SourceUnavailable(
            f"{where}: server error", retry_after=retry_after, vendor=vendor, status=status
        )
        error.retryable = status in RETRYABLE_STATUSES
        raise error
    raise RequestRejected(f"{where}: request refused", vendor=vendor, status=status)


#: Vendors' error codes of a 403 that refuses one record, not the key: WooCommerce's for a
#: key whose user may not edit or delete this user (a shop manager, an administrator).
RECORD_REFUSALS = frozenset({"woocommerce_rest_cannot_edit", "woocommerce_rest_cannot_delete"})


def _one_record(path: str, response: httpx.Response) -> bool:
    """Whether a 403 refused one record rather than our credentials: the request named one
    record (its logged path has an id in it: ``customers/{id}``, ``tickets/{id}/…``), or the
    vendor's error code says so (:data:`RECORD_REFUSALS`).

    A key without the right permissions is refused on the lists a gathering or a health check
    starts from (``customers?email=``, ``users/search``, ``users/me``), which name no record;
    so a refusal there stays a credentials failure, and the health page shows it as one.
    """
    if "{" in path:
        return True
    body = _answer(response).body
    return isinstance(body, dict) and body.get("code") in RECORD_REFUSALS


class HttpClient:
    """The pooled HTTP client of one connector instance.

    :param vendor: connector slug, used in logs and error messages.
    :param base_url: API root; relative paths are resolved against it.
    :param auth: httpx auth (e.g. ``("key", "X")`` for Basic); kept out of logs and reprs.
    :param headers: extra default headers (e.g. ``Authorization``); never logged.
    :param timeout: per-attempt timeouts; each attempt is also capped by the deadline.
    :param retry: the :class:`RetryPolicy`.
    :param transport: an httpx transport (tests pass :class:`httpx.MockTransport`).
    :param max_body_bytes: the largest (decoded) response body read; a larger one is a
        :class:`~connectors.errors.BadResponse`.
    """

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ):
        self.vendor = vendor
        self.max_body_bytes = max_body_bytes
        if not base_url.endswith("/"):
            base_url += "/"
        self.base_url = httpx.URL(base_url)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._client = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
        )

    def session(self, deadline: Deadline | None = None) -> HttpSession:
        """Start a session for one gathering (or health check) with its own counters."""
        return HttpSession(self, deadline or Deadline(None))

    def same_origin(self, url: httpx.URL) -> bool:
        """Whether ``url`` points at the configured host, so credentials may be sent to it."""
        return (url.scheme, url.host, url.port) == (
            self.base_url.scheme,
            self.base_url.host,
            self.base_url.port,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpClient(vendor={self.vendor!r}, host={self.base_url.host!r})"


class HttpSession:
    """Requests of one gathering: shares the client's pool, has its own deadline and stats.

    Several threads may send requests through one session at once (its :class:`RequestStats`
    are thread-safe, and so is the pooled :class:`httpx.Client`).
    """

    def __init__(self, client: HttpClient, deadline: Deadline):
        self.client = client
        self.deadline = deadline
        self.stats = RequestStats()

    @property
    def vendor(self) -> str:
        """The connector slug."""
        return self.client.vendor

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        path_params: Mapping[str, object] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one logical request, retrying as the policy allows, and return the response.

        ``path`` is relative to the base URL, or an absolute URL on the same host (a next-page
        link). Put personal values that belong in the path into ``path_params``: the path is
        logged as the template (``contacts/customer_id/{number}.json``).

        ``idempotent`` says whether repeating the request cannot change the outcome; by default
        only GET, HEAD and OPTIONS are. Pass ``True`` for writes that set a value (PUT/PATCH
        with the new value) or delete by id, so 5xx, timeouts and 429 are retried for them
        too. A non-idempotent write is retried only when the connection was never made.

        :raises SourceTimeout: the deadline passed (also while the body came in), or the
            source did not answer in time.
        :raises SourceUnavailable: network error or 5xx after the last attempt, or a 503 whose
            ``Retry-After`` does not fit the budget.
        :raises RateLimited: 429 whose wait does not fit the budget, or after the last attempt.
        :raises AuthFailed, NotFound, RequestRejected: as mapped by :func:`error_for_response`.
        :raises BadResponse: a redirect, an absolute URL on another host, a body larger
            than :attr:`HttpClient.max_body_bytes`, or a DELETE answered by a 2xx whose body is
            neither empty nor JSON (a firewall's or maintenance page).
        """
        method = method.upper()
        url = path.format_map({k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
        log_path = _log_path(self.client, path)
        request = self.client._client.build_request(
            method, url, params=_clean_params(params), json=json
        )
        if not self.client.same_origin(request.url):
            raise BadResponse(
                f"{self.vendor}: {method} {log_path}: refusing a URL on another host",
                vendor=self.vendor,
            )
        self.stats.note_request(method, request.url, request.content)
        policy = self.client.retry
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS

        def should_retry(error: BaseException) -> bool:
            if not isinstance(error, ConnectorError) or not error.retryable:
                return False
            # A connection never made cannot have changed anything: safe for any method.
            return idempotent or getattr(error, "connect_failed", False)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimited | SourceUnavailable) and error.retry_after is not None:
                return error.retry_after
            return policy.backoff(state.attempt_number)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= policy.attempts:
                return True
            # Waiting longer than the budget allows would only fail later: fail fast now.
            return (state.upcoming_sleep or 0.0) >= self.deadline.remaining()

        def before_sleep(state: RetryCallState) -> None:
            self.stats.note_wait(state.upcoming_sleep or 0.0)

        retrying = Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception(should_retry),
            before_sleep=before_sleep,
            sleep=policy.sleep,
            reraise=True,
        )
        tries = itertools.count(1)  # this request's attempts, for the log
        response: httpx.Response = retrying(self._attempt, request, log_path, tries)
        if method == "DELETE":
            self._check_deleted(response, log_path)
        return response

    def _check_deleted(self, response: httpx.Response, log_path: str) -> None:
        """Refuse a DELETE's 2xx answer that no vendor gives: the vendors answer a deletion
        with an empty body (204, or Zammad's 200) or with JSON (the deleted record, ``{}``).
        A firewall's or a maintenance page's 200 is not a deletion, and counting it as one
        would report data erased that is still there.

        :raises BadResponse: a body that is neither empty nor a JSON object or array.
        """
        if not response.content.strip():
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict | list):
            raise BadResponse(
                f"{self.vendor}: DELETE {log_path} -> {response.status_code}: the answer is "
                "not a deletion's",
                vendor=self.vendor,
                status=response.status_code,
            )

    def _attempt(
        self, request: httpx.Request, log_path: str, tries: Iterator[int]
    ) -> httpx.Response:
        """Send ``request`` once and map the outcome (raising typed errors); ``tries`` numbers
        this request's attempts."""
        self.stats.note_attempt()
        attempt = next(tries)
        vendor, method = self.vendor, request.method
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise SourceTimeout(
                f"{vendor}: {method} {log_path}: time budget used up", vendor=vendor
            )
        timeout = self.client.timeout
        request.extensions["timeout"] = httpx.Timeout(
            connect=_cap(timeout.connect, remaining),
            read=_cap(timeout.read, remaining),
            write=_cap(timeout.write, remaining),
            pool=_cap(timeout.pool, remaining),
        ).as_dict()
        started = time.monotonic()
        try:
            streamed = self.client._client.send(request, stream=True)
            try:
                response = self._read(streamed, log_path)
            finally:
                streamed.close()
        except httpx.TimeoutException:
            log.info("%s %s %s -> timeout (attempt %d)", vendor, method, log_path, attempt)
            # `from None`: httpx's exception text may contain the full URL with its query.
            raise SourceTimeout(
                f"{vendor}: {method} {log_path}: timed out", vendor=vendor
            ) from None
        except httpx.TransportError as exc:
            log.info("%s %s %s -> network error (attempt %d)", vendor, method, log_path, attempt)
            error = SourceUnavailable(
                f"{vendor}: {method} {log_path}: {type(exc).__name__}", vendor=vendor
            )
            error.connect_failed = isinstance(exc, httpx.ConnectError)
            raise error from None
        elapsed_ms = (time.monotonic() - started) * 1000
        log.info(
            "%s %s %s -> %d (attempt %d, %.0f ms)",
            vendor,
            method,
            log_path,
            response.status_code,
            attempt,
            elapsed_ms,
        )
        if 300 <= response.status_code < 400:
            raise BadResponse(
                f"{vendor}: {method} {log_path} -> {response.status_code}: unexpected redirect",
                vendor=vendor,
                status=response.status_code,
            )
        error_for_response(vendor, method, log_path, response)
        return response

    def _read(self, streamed: httpx.Response, log_path: str) -> httpx.Response:
        """Read the body of ``streamed`` within the deadline and the size cap, and return the
        response with that body.

        httpx's timeouts bound each read from the socket, not the whole body: a body that
        trickles in a byte at a time would keep a gathering (or a write) busy long past its
        budget, and a huge one would be held in memory whole. So the body is read in chunks,
        with the deadline checked after each one (a chunk may still take up to the read
        timeout, which was capped by the time left when the attempt started) and the
        decoded size kept below :attr:`HttpClient.max_body_bytes`.

        :raises SourceTimeout: the deadline passed while the body came in.
        :raises BadResponse: the body is larger than the cap.
        """
        vendor, method = self.vendor, streamed.request.method
        cap = self.client.max_body_bytes
        too_large = BadResponse(
            f"{vendor}: {method} {log_path} -> {streamed.status_code}: body larger than "
            f"{cap} bytes",
            vendor=vendor,
            status=streamed.status_code,
        )
        length = streamed.headers.get("Content-Length", "")
        if length.isascii() and length.isdigit() and int(length) > cap:
            raise too_large
        body = bytearray()
        for chunk in streamed.iter_bytes():
            body += chunk
            if len(body) > cap:
                raise too_large
            if self.deadline.expired:
                log.info("%s %s %s -> body not read in time", vendor, method, log_path)
                raise SourceTimeout(
                    f"{vendor}: {method} {log_path}: time budget used up reading the body",
                    vendor=vendor,
                )
        # The body is decoded already: the new response must not decode it again.
        headers = [
            (key, value)
            for key, value in streamed.headers.multi_items()
            if key.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            streamed.status_code,
            headers=headers,
            content=bytes(body),
            request=streamed.request,
            extensions=streamed.extensions,
        )

    def get_json(
        self,
        path: str,
        *,
        params: Params | None = None,
        path_params: Mapping[str, object] | None = None,
    ) -> tuple[Any, httpx.Response]:
        """GET ``path`` and return ``(decoded JSON, response)``.

        :raises BadResponse: if the body is not JSON; plus everything :meth:`request` raises.
        """
        response = self.request("GET", path, params=params, path_params=path_params)
        return self.decode(response, path), response

    def decode(self, response: httpx.Response, path: str) -> Any:
        """Decode a JSON body. :raises BadResponse: if it is not valid JSON."""
        try:
            return response.json()
        except ValueError:
            raise BadResponse(
                f"{self.vendor}: {response.request.method} {_log_path(self.client, path)}: "
                "body is not JSON",
                vendor=self.vendor,
                status=response.status_code,
            ) from None


def _answer(response: httpx.Response) -> Answer:
    """The status, content type and decoded JSON body (if any) of an error answer."""
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    is_json = content_type == "application/json" or content_type.endswith("+json")
    try:
        body = response.json() if response.content.strip() else None
    except ValueError:
        body = None
    return Answer(response.status_code, is_json, body)


def _cap(value: float | None, remaining: float) -> float:
    return remaining if value is None else min(value, remaining)


def _clean_params(params: Params | None) -> dict[str, str | int | float | bool] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


#: A path segment that may be a record's id (vendor ids are the person's too): it has a digit,
#: a capital or an ``@``, or the shape of Mollie's (``cst_`` and eight or more letters or
#: digits); an API version (``v2``) is none. API words are lower case.
_ID_SEGMENT = re.compile(r"(?!v\d+$)[^/]*[0-9A-Z@][^/]*|[a-z]{2,4}_[a-zA-Z0-9]{8,}")


def _log_path(client: HttpClient, path: str) -> str:
    """The loggable form of ``path``: its template, without any query string; a path given
    whole (a next page's URL, ``customers/cst_8w…/payments``) has every segment after the API
    root that may be an id logged as ``{id}`` (keeping a ``.json`` ending)."""
    root = client.base_url.path
    if "://" in path:
        path = urlsplit(path).path or "/"
        rest = path[len(root) :] if path.startswith(root) else path
    else:
        rest = path.split("?", 1)[0]
        if "{" in rest:
            return root + rest  # a template: its placeholders name what goes there
    if path.startswith("/") and not path.startswith(root):
        root = ""
    return root + "/".join(_redacted(segment) for segment in rest.split("/"))


def _redacted(segment: str) -> str:
    if not _ID_SEGMENT.fullmatch(segment):
        return segment
    return "{id}.json" if segment.endswith(".json") else "{id}"
