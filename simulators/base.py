"""Shared machinery for the vendor API simulators.

Every simulator is a WSGI application (a subclass of :class:`SimulatorApp`) that keeps its
own in-memory copy of the demo world, answers the vendor's routes, records every vendor
request, and can be told to misbehave (fault modes) either in-process with
:meth:`SimulatorApp.set_fault` or over HTTP through the control endpoints under
``/__simulator__/`` (which are not part of any vendor API and need no vendor credentials).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.http import http_date
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from simulators.world import World, build_world

__all__ = [
    "CONTROL_PREFIX",
    "FAULT_MODES",
    "HTML_PAGE",
    "RETRY_AFTER_FORMATS",
    "FaultConfig",
    "RequestRecord",
    "SimulatorApp",
    "compact",
    "fuzzy_match",
    "utcnow",
]

#: Path prefix of the simulator's own control endpoints.
CONTROL_PREFIX = "/__simulator__"

#: Every fault mode understood by :meth:`SimulatorApp.set_fault`.
FAULT_MODES: tuple[str, ...] = (
    "none",
    "down",
    "slow",
    "rate_limit",
    "unavailable",
    "server_error",
    "malformed",
    "html_page",
    "cut_off",
    "wrong_shape",
    "expired_credentials",
)

#: How a ``Retry-After`` header is written: delay seconds, or an HTTP date (RFC 9110 allows
#: both; hosts and proxies in front of a vendor send either).
RETRY_AFTER_FORMATS: tuple[str, ...] = ("seconds", "http-date")

#: The page of the ``html_page`` fault: what a firewall's challenge, a host's "account
#: suspended" notice or a login page in front of the API answers, with status 200.
HTML_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><title>Just a moment...</title></head>'
    "<body><h1>Checking your browser before accessing the site.</h1>"
    "<p>This process is automatic.</p></body></html>"
)

#: The body served by the ``malformed`` fault: starts like JSON, then stops.
MALFORMED_BODY = '{"id": 101, "email": "sanne.devries@example.nl", "billing": {"first_name": "Sa'


def cut_off(response: Response) -> Response:
    """``response`` with its full length announced and half its body sent: the connection
    closes mid-body (a proxy's timeout, a crashed worker), after the request was handled."""
    body = response.get_data()
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body) + 1)))
    headers.append(("Connection", "close"))
    return Response(
        iter([body[: len(body) // 2]]),
        status=response.status_code,
        headers=headers,
        direct_passthrough=True,
    )


def _retry_after(cfg: FaultConfig) -> str:
    """The ``Retry-After`` value of a fault: seconds, or the HTTP date that many seconds from
    now (by the real clock, which the client compares it with, not the simulator's)."""
    if cfg.retry_after_format == "http-date":
        return http_date(datetime.now(UTC) + timedelta(seconds=cfg.retry_after))
    return str(cfg.retry_after)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the default simulator clock)."""
    return datetime.now(UTC)


def compact(text: str) -> str:
    """Lower-case ``text`` and drop everything that is not a letter or digit."""
    return re.sub(r"[\W_]+", "", text.lower())


def fuzzy_match(query: str, values: Iterable[str | None]) -> bool:
    """Tell whether a free-text ``query`` matches any of ``values`` the way a fuzzy search does.

    A record matches when, case-insensitively,

    * the whole query is a substring of one value, or
    * the query with punctuation and spaces removed is a substring of one value with
      punctuation and spaces removed (so ``sanne.devries@example.nl`` also finds
      ``sanne.de.vries@example.nl`` and ``+31612345678`` finds ``+31 6 12345678``), or
    * every whitespace-separated word of the query occurs in some value.

    This deliberately returns near matches: callers must compare identifiers exactly.
    """
    texts = [v.lower() for v in values if v]
    q = query.strip().lower()
    if not q:
        return True
    if any(q in t for t in texts):
        return True
    cq = compact(q)
    if cq and any(cq in compact(t) for t in texts):
        return True
    words = q.split()
    if len(words) > 1:
        return all(any(w in t for t in texts) for w in words)
    return False


@dataclass
class FaultConfig:
    """The current fault setting of one simulator.

    ``remaining`` is how many more vendor requests the fault applies to (``None``: until
    changed). ``delay`` is the extra delay of the ``slow`` mode in seconds, ``retry_after``
    the ``Retry-After`` value (seconds) of the ``rate_limit`` and ``unavailable`` modes,
    written as ``retry_after_format`` says (seconds, or the HTTP date that many seconds
    from now).
    """

    mode: str = "none"
    remaining: int | None = None
    delay: float = 1.0
    retry_after: int = 1
    for_seconds: float | None = None
    retry_after_format: str = "seconds"

    def to_dict(self) -> dict[str, Any]:
        """Return the setting as a JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class RequestRecord:
    """One vendor request as seen by a simulator (control requests are not recorded)."""

    method: str
    path: str
    query: dict[str, str]
    query_string: str
    status: int
    fault: str
    timestamp: float = field(default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a JSON-able dict."""
        return asdict(self)


class SimulatorApp:
    """Base class of the five vendor simulators; a WSGI application.

    Subclasses set :attr:`vendor`, :attr:`api_prefix` and :attr:`url_map`, implement
    :meth:`load_state`, :meth:`authenticate` and the vendor-specific error bodies, and
    provide one ``on_<endpoint>`` method per routing rule.
    """

    vendor: ClassVar[str] = ""
    #: Name of the :class:`World` attribute that holds this vendor's records.
    world_section: ClassVar[str] = ""
    #: Path under which the vendor API lives (a connector's base URL ends with it).
    api_prefix: ClassVar[str] = ""
    #: Content type of the vendor's JSON answers.
    json_content_type: ClassVar[str] = "application/json; charset=utf-8"
    url_map: ClassVar[Map]

    def __init__(
        self,
        world: World | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._world = world if world is not None else build_world()
        self.clock: Callable[[], datetime] = clock or utcnow
        self._lock = threading.RLock()
        self._fault = FaultConfig()
        self._latency = 0.0
        self._log: list[RequestRecord] = []
        self._in_flight = 0
        self._peak_in_flight = 0
        self._listeners: list[Callable[[FaultConfig], None]] = []
        self.load_state(self._fresh_world())

    # ------------------------------------------------------------------ state

    @property
    def world(self) -> World:
        """The pristine world this simulator was seeded from (never mutated)."""
        return self._world

    def _fresh_world(self) -> World:
        """A copy of the world whose section for this vendor may be mutated freely."""
        section = self.world_section or self.vendor
        return replace(self._world, **{section: copy.deepcopy(getattr(self._world, section))})

    def load_state(self, world: World) -> None:
        """Copy the vendor's records out of ``world`` into mutable state (subclass hook)."""
        raise NotImplementedError

    @property
    def credentials(self) -> dict[str, str]:
        """The credentials a connector needs for this simulator (subclass hook)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Restore the seeded data, clear the request log and switch faults and latency off."""
        with self._lock:
            self.load_state(self._fresh_world())
            self._log.clear()
            self._peak_in_flight = self._in_flight
            self._latency = 0.0
        self.set_fault("none")

    # ----------------------------------------------------------------- faults

    def set_fault(
        self,
        mode: str,
        *,
        count: int | None = None,
        delay: float | None = None,
        retry_after: int | None = None,
        for_seconds: float | None = None,
        retry_after_format: str | None = None,
    ) -> FaultConfig:
        """Switch the fault mode.

        ``mode`` is one of :data:`FAULT_MODES`. ``count`` limits the fault to the next
        ``count`` vendor requests (then it switches back to ``none``); ``delay`` is the
        ``slow`` delay in seconds; ``retry_after`` the ``Retry-After`` seconds of
        ``rate_limit`` and ``unavailable``, sent as ``retry_after_format`` says (one of
        :data:`RETRY_AFTER_FORMATS`: ``seconds``, or ``http-date`` for the date that many
        seconds from now); ``for_seconds`` (``down`` only, needs the runner) brings the server
        back automatically after that many seconds.
        """
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; expected one of {FAULT_MODES}")
        if retry_after_format is not None and retry_after_format not in RETRY_AFTER_FORMATS:
            raise ValueError(
                f"unknown Retry-After format {retry_after_format!r}; "
                f"expected one of {RETRY_AFTER_FORMATS}"
            )
        if count is not None and count < 1:
            raise ValueError("count must be a positive integer or None")
        with self._lock:
            cfg = FaultConfig(mode=mode, remaining=count if mode != "none" else None)
            if delay is not None:
                cfg.delay = float(delay)
            if retry_after is not None:
                cfg.retry_after = int(retry_after)
            if retry_after_format is not None:
                cfg.retry_after_format = retry_after_format
            cfg.for_seconds = for_seconds if mode == "down" else None
            self._fault = cfg
            listeners = list(self._listeners)
        for listener in listeners:
            listener(copy.copy(cfg))
        return copy.copy(cfg)

    def clear_fault(self) -> None:
        """Switch faults off (same as ``set_fault("none")``)."""
        self.set_fault("none")

    @property
    def fault(self) -> FaultConfig:
        """A copy of the current fault setting."""
        with self._lock:
            return copy.copy(self._fault)

    def set_latency(self, seconds: float) -> None:
        """Delay every vendor answer by ``seconds`` (0 switches it off)."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self._latency = float(seconds)

    @property
    def latency(self) -> float:
        """The fixed delay added to every vendor answer, in seconds."""
        return self._latency

    def add_fault_listener(self, listener: Callable[[FaultConfig], None]) -> None:
        """Call ``listener`` with the new setting whenever the fault mode changes."""
        self._listeners.append(listener)

    def remove_fault_listener(self, listener: Callable[[FaultConfig], None]) -> None:
        """Undo :meth:`add_fault_listener`."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    # ------------------------------------------------------------ request log

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the log of vendor requests received since the last reset, oldest first."""
        with self._lock:
            return list(self._log)

    def request_count(self, method: str | None = None, path: str | None = None) -> int:
        """Count logged vendor requests, optionally only those with this method and/or path."""
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method.upper()) and (path is None or r.path == path)
        )

    def clear_requests(self) -> None:
        """Empty the request log (and start :attr:`peak_in_flight` over)."""
        with self._lock:
            self._log.clear()
            self._peak_in_flight = self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most vendor requests being answered at once since the last reset or
        :meth:`clear_requests`: how many a client had in flight together (latency included)."""
        with self._lock:
            return self._peak_in_flight

    # ------------------------------------------------------------------- WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """WSGI entry point."""
        request = Request(environ)
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            response = self._control(request)
        else:
            response = self._vendor_request(request)
        return response(environ, start_response)

    def _take_fault(self) -> FaultConfig:
        with self._lock:
            cfg = copy.copy(self._fault)
            if self._fault.mode != "none" and self._fault.remaining is not None:
                self._fault.remaining -= 1
                if self._fault.remaining <= 0 and self._fault.mode != "down":
                    self._fault = FaultConfig()
        return cfg

    def _vendor_request(self, request: Request) -> Response:
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
        try:
            return self._answer(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, request: Request) -> Response:
        cfg = self._take_fault()
        pause = self._latency + (cfg.delay if cfg.mode == "slow" else 0.0)
        if pause > 0:
            time.sleep(pause)
        mode = cfg.mode
        if mode == "down":
            # Only reachable without the runner (or on a connection that raced the stop).
            response = Response("", status=503, headers={"Connection": "close"})
        elif mode == "rate_limit":
            response = self.rate_limit_response(cfg.retry_after)
            response.headers["Retry-After"] = _retry_after(cfg)
        elif mode == "unavailable":
            response = self.unavailable_response()
            response.headers["Retry-After"] = _retry_after(cfg)
        elif mode == "html_page":
            response = Response(HTML_PAGE, status=200, content_type="text/html; charset=UTF-8")
        elif mode == "server_error":
            response = self.server_error_response()
        elif mode == "expired_credentials":
            response = self.expired_credentials_response(request)
        elif mode == "malformed":
            response = Response(MALFORMED_BODY, status=200, content_type=self.json_content_type)
        else:
            with self._lock:
                response = self._dispatch(request)
            if mode == "wrong_shape":
                response = self._wrong_shape(response)
            elif mode == "cut_off":
                response = cut_off(response)
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query={k: v for k, v in request.args.items()},
            query_string=request.query_string.decode("latin-1"),
            status=response.status_code,
            fault=mode,
            timestamp=time.time(),
        )
        with self._lock:
            self._log.append(record)
        return response

    def _wrong_shape(self, response: Response) -> Response:
        try:
            body = json.loads(response.get_data(as_text=True) or "null")
        except ValueError:
            body = None
        if isinstance(body, list):
            shaped: Any = {"data": body, "unexpected": True}
        elif isinstance(body, dict):
            shaped = [body]
        else:
            shaped = {"unexpected": True}
        return self.json(shaped, 200)

    def _dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except MethodNotAllowed as exc:
            return self.method_not_allowed_response(request, list(exc.valid_methods or []))
        except NotFound:
            return self.no_route_response(request)
        denied = self.authenticate(request, str(endpoint))
        if denied is not None:
            return denied
        handler = getattr(self, f"on_{endpoint}")
        result: Response = handler(request, **values)
        return result

    # --------------------------------------------------------- control routes

    def _control(self, request: Request) -> Response:
        action = request.path[len(CONTROL_PREFIX) :].strip("/")
        try:
            if action == "fault" and request.method == "GET":
                return self.json({"fault": self.fault.to_dict(), "latency": self._latency})
            if action == "fault" and request.method in ("POST", "PUT"):
                data = request.get_json(force=True, silent=True) or {}
                if "latency" in data:
                    self.set_latency(float(data["latency"]))
                cfg = self.set_fault(
                    str(data.get("mode", "none")),
                    count=data.get("count"),
                    delay=data.get("delay"),
                    retry_after=data.get("retry_after"),
                    for_seconds=data.get("for_seconds"),
                    retry_after_format=data.get("retry_after_format"),
                )
                headers = {"Connection": "close"} if cfg.mode == "down" else {}
                return self.json({"fault": cfg.to_dict(), "latency": self._latency}, 200, headers)
            if action == "latency" and request.method in ("POST", "PUT"):
                data = request.get_json(force=True, silent=True) or {}
                self.set_latency(float(data.get("seconds", 0)))
                return self.json({"latency": self._latency})
            if action == "requests" and request.method == "GET":
                return self.json([r.to_dict() for r in self.requests])
            if action == "requests" and request.method == "DELETE":
                self.clear_requests()
                return Response(status=204)
            if action == "reset" and request.method == "POST":
                self.reset()
                return self.json({"reset": True})
            if action in ("", "info") and request.method == "GET":
                return self.json(
                    {
                        "vendor": self.vendor,
                        "api_prefix": self.api_prefix,
                        "fault": self.fault.to_dict(),
                        "latency": self._latency,
                        "request_count": len(self.requests),
                        "fault_modes": list(FAULT_MODES),
                    }
                )
        except (TypeError, ValueError) as exc:
            return self.json({"error": str(exc)}, 400)
        return self.json({"error": f"unknown control action {request.method} {action!r}"}, 404)

    # ---------------------------------------------------- vendor hooks/helpers

    def authenticate(self, request: Request, endpoint: str) -> Response | None:
        """Return the vendor's error response when ``request`` is not authorised (subclass)."""
        raise NotImplementedError

    def expired_credentials_response(self, request: Request) -> Response:
        """The vendor's answer to expired or revoked credentials (subclass hook)."""
        raise NotImplementedError

    def rate_limit_response(self, retry_after: int) -> Response:
        """The vendor's 429 answer (subclass hook)."""
        raise NotImplementedError

    def server_error_response(self) -> Response:
        """The vendor's 500 answer (subclass hook)."""
        return self.json({"error": "Internal Server Error"}, 500)

    def unavailable_response(self) -> Response:
        """The 503 of maintenance or an overloaded host, without ``Retry-After`` (added from
        the fault setting; subclass hook)."""
        return self.json({"error": "Service Unavailable"}, 503)

    def no_route_response(self, request: Request) -> Response:
        """The vendor's answer to an unknown path (subclass hook)."""
        return self.json({"error": "Not Found"}, 404)

    def method_not_allowed_response(self, request: Request, allowed: Sequence[str]) -> Response:
        """The vendor's answer to a known path with a wrong method (subclass hook)."""
        return self.json(
            {"error": "Method Not Allowed"}, 405, headers={"Allow": ", ".join(allowed)}
        )

    def json(
        self,
        body: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Serialise ``body`` as the vendor's JSON response."""
        return Response(
            json.dumps(body, ensure_ascii=False),
            status=status,
            headers=dict(headers or {}),
            content_type=self.json_content_type,
        )

    def now(self) -> datetime:
        """The simulator's current time (aware UTC)."""
        return self.clock().astimezone(UTC)

    @staticmethod
    def page_url(request: Request, **overrides: Any) -> str:
        """Return the request URL with some query parameters replaced (all others repeated)."""
        params: list[tuple[str, str]] = []
        seen: set[str] = set()
        for key, value in request.args.items(multi=True):
            if key in overrides:
                if key not in seen:
                    params.append((key, str(overrides[key])))
                    seen.add(key)
                continue
            params.append((key, value))
        for key, value in overrides.items():
            if key not in seen:
                params.append((key, str(value)))
        return f"{request.base_url}?{urlencode(params)}"

    @staticmethod
    def link_header(links: Sequence[tuple[str, str]]) -> str:
        """Format ``[(url, rel), ...]`` as an RFC 5988 ``Link`` header value."""
        return ", ".join(f'<{url}>; rel="{rel}"' for url, rel in links)
