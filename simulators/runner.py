"""Run simulators on 127.0.0.1 in background threads (werkzeug's threaded dev server).

``start("mollie")`` returns a :class:`SimulatorHandle`; ``start_all()`` starts all five on
one shared world and returns a :class:`SimulatorGroup`. The ``down`` fault really stops
listening (new connections are refused and open keep-alive connections are cut) and any
other fault mode, :meth:`SimulatorHandle.reset` or ``for_seconds`` brings the server back
on the same port.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from simulators.base import FaultConfig, RequestRecord, SimulatorApp
from simulators.freshdesk import FreshdeskSimulator
from simulators.mollie import MollieSimulator
from simulators.moneybird import MoneyBirdSimulator
from simulators.woocommerce import WooCommerceSimulator
from simulators.world import World, build_world
from simulators.zammad import ZammadSimulator

__all__ = [
    "APP_CLASSES",
    "DEFAULT_PORTS",
    "VENDORS",
    "SimulatorGroup",
    "SimulatorHandle",
    "create_app",
    "start",
    "start_all",
]

#: The five vendors, in a fixed order.
VENDORS: tuple[str, ...] = ("woocommerce", "moneybird", "zammad", "freshdesk", "mollie")

#: Fixed ports used by ``python -m simulators`` (the demo).
DEFAULT_PORTS: dict[str, int] = {
    "woocommerce": 5101,
    "moneybird": 5102,
    "zammad": 5103,
    "freshdesk": 5104,
    "mollie": 5105,
}

APP_CLASSES: dict[str, type[SimulatorApp]] = {
    "woocommerce": WooCommerceSimulator,
    "moneybird": MoneyBirdSimulator,
    "zammad": ZammadSimulator,
    "freshdesk": FreshdeskSimulator,
    "mollie": MollieSimulator,
}

_POLL_INTERVAL = 0.05


def create_app(vendor: str, world: World | None = None, **options: Any) -> SimulatorApp:
    """Create the WSGI app of one vendor (``options`` go to its constructor)."""
    try:
        cls = APP_CLASSES[vendor]
    except KeyError:
        raise ValueError(f"unknown vendor {vendor!r}; expected one of {VENDORS}") from None
    return cls(world, **options)


class _Handler(WSGIRequestHandler):
    """Request handler that registers its connection so a stop can cut it, and stays quiet."""

    def setup(self) -> None:
        super().setup()
        registry = getattr(self.server, "sim_connections", None)
        if registry is not None:
            with self.server.sim_lock:  # type: ignore[attr-defined]
                registry[threading.get_ident()] = self.connection

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            registry = getattr(self.server, "sim_connections", None)
            if registry is not None:
                with self.server.sim_lock:  # type: ignore[attr-defined]
                    registry.pop(threading.get_ident(), None)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Do not log every request."""

    def log_error(self, format: str, *args: Any) -> None:
        """Do not log dropped connections."""


class SimulatorHandle:
    """A simulator served on ``host:port`` in a background thread.

    Attributes: ``app`` (the :class:`~simulators.base.SimulatorApp`), ``vendor``, ``host``,
    ``port``, ``base_url``, ``root_url`` and ``credentials``.
    """

    def __init__(self, app: SimulatorApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        #: The vendor name, e.g. ``"mollie"``.
        self.vendor: str = app.vendor
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._down = False
        self._timers: list[threading.Timer] = []
        self._generation = 0
        app.add_fault_listener(self._on_fault)

    # ------------------------------------------------------------ properties

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:{port}`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base a connector is configured with, e.g. ``http://127.0.0.1:5105/v2``.

        WooCommerce: ``…/wp-json/wc/v3``; MoneyBird: ``…/api/v2`` (the administration id is
        in :attr:`credentials`); Zammad: ``…/api/v1``; Freshdesk: ``…/api/v2``; Mollie:
        ``…/v2``. No trailing slash.
        """
        return self.root_url + self.app.api_prefix

    @property
    def credentials(self) -> dict[str, str]:
        """The credentials the simulator accepts (see the vendor module's docstring)."""
        return self.app.credentials

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    def url(self, path: str = "") -> str:
        """``base_url`` joined with ``path`` (e.g. ``handle.url("/customers")``)."""
        return self.base_url + ("/" + path.lstrip("/") if path else "")

    # ------------------------------------------------------------- lifecycle

    def start(self) -> SimulatorHandle:
        """Start listening (again) on ``port``; with port 0 a free port is chosen once."""
        with self._lock:
            if self._server is not None:
                return self
            server = make_server(
                self.host, self.port, self.app, threaded=True, request_handler=_Handler
            )
            server.sim_connections = {}  # type: ignore[attr-defined]
            server.sim_lock = threading.Lock()  # type: ignore[attr-defined]
            self.port = server.server_port
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL},
                name=f"simulator-{self.vendor}-{self.port}",
                daemon=True,
            )
            self._server = server
            self._thread = thread
            thread.start()
            return self

    def _stop_server(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server = None
            self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        current = threading.get_ident()
        with server.sim_lock:  # type: ignore[attr-defined]
            connections = dict(server.sim_connections)  # type: ignore[attr-defined]
        for ident, conn in connections.items():
            if ident == current:
                continue  # the control request that asked for "down"; closed after replying
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def stop(self) -> None:
        """Stop listening, cut open connections and cancel pending timers (idempotent)."""
        with self._lock:
            self._down = False
            self._generation += 1
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        self._stop_server()

    def close(self) -> None:
        """Stop and detach from the app (the handle can't be restarted afterwards)."""
        self.stop()
        self.app.remove_fault_listener(self._on_fault)

    def __enter__(self) -> SimulatorHandle:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---------------------------------------------------------------- faults

    def _on_fault(self, cfg: FaultConfig) -> None:
        if cfg.mode == "down":
            with self._lock:
                self._down = True
                self._generation += 1
                generation = self._generation
            self._stop_server()
            if cfg.for_seconds:
                timer = threading.Timer(cfg.for_seconds, self._come_back, args=(generation,))
                timer.daemon = True
                with self._lock:
                    self._timers.append(timer)
                timer.start()
        else:
            with self._lock:
                was_down, self._down = self._down, False
                self._generation += 1
            if was_down:
                self.start()

    def _come_back(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation or not self._down:
                return
        self.app.set_fault("none")

    def set_fault(self, mode: str, **options: Any) -> FaultConfig:
        """Switch the fault mode (see :meth:`SimulatorApp.set_fault`); ``down`` stops listening."""
        return self.app.set_fault(mode, **options)

    def clear_fault(self) -> None:
        """Back to normal (restarts the server if it is down)."""
        self.app.set_fault("none")

    @property
    def fault(self) -> FaultConfig:
        """The current fault setting."""
        return self.app.fault

    def set_latency(self, seconds: float) -> None:
        """Delay every vendor answer by ``seconds``."""
        self.app.set_latency(seconds)

    # ------------------------------------------------------------ request log

    @property
    def requests(self) -> list[RequestRecord]:
        """The vendor requests received since the last reset (see :class:`RequestRecord`)."""
        return self.app.requests

    def request_count(self, method: str | None = None, path: str | None = None) -> int:
        """Count logged requests, optionally by method and/or exact path."""
        return self.app.request_count(method, path)

    def clear_requests(self) -> None:
        """Empty the request log (and start :attr:`peak_in_flight` over)."""
        self.app.clear_requests()

    @property
    def peak_in_flight(self) -> int:
        """The most vendor requests answered at once since the last reset or clear."""
        return self.app.peak_in_flight

    def reset(self) -> None:
        """Restore the seeded data, clear the log, switch faults/latency off (restarts if down)."""
        self.app.reset()
        if not self.running:
            self.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SimulatorHandle {self.vendor} {self.base_url} {state}>"


class SimulatorGroup(Mapping[str, SimulatorHandle]):
    """The five running simulators, by vendor name (``group["mollie"]``)."""

    def __init__(self, handles: Mapping[str, SimulatorHandle], world: World) -> None:
        self._handles = dict(handles)
        #: The shared world all five were seeded from.
        self.world = world

    def __getitem__(self, vendor: str) -> SimulatorHandle:
        return self._handles[vendor]

    def __iter__(self) -> Iterator[str]:
        return iter(self._handles)

    def __len__(self) -> int:
        return len(self._handles)

    def __getattr__(self, name: str) -> SimulatorHandle:
        try:
            return self._handles[name]
        except KeyError:
            raise AttributeError(name) from None

    def stop(self) -> None:
        """Stop every simulator."""
        for handle in self._handles.values():
            handle.close()

    def reset(self) -> None:
        """Reset every simulator."""
        for handle in self._handles.values():
            handle.reset()

    def __enter__(self) -> SimulatorGroup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start(
    vendor: str | SimulatorApp,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    world: World | None = None,
    **options: Any,
) -> SimulatorHandle:
    """Start one simulator and return its handle.

    ``vendor`` is a vendor name (then ``world`` and ``options`` are passed to its app
    class, e.g. ``api_key=…``) or a ready app instance. ``port=0`` picks a free port.
    """
    app = vendor if isinstance(vendor, SimulatorApp) else create_app(vendor, world, **options)
    return SimulatorHandle(app, host, port).start()


def start_all(
    ports: Mapping[str, int] | None = None,
    *,
    host: str = "127.0.0.1",
    world: World | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> SimulatorGroup:
    """Start all five simulators on one shared world.

    ``ports`` maps vendor → port (missing vendors get a free port; pass
    :data:`DEFAULT_PORTS` for the demo ports). ``options`` maps vendor → constructor
    keyword arguments.
    """
    world = world if world is not None else build_world()
    handles: dict[str, SimulatorHandle] = {}
    try:
        for vendor in VENDORS:
            port = (ports or {}).get(vendor, 0)
            handles[vendor] = start(
                vendor, port, host=host, world=world, **dict((options or {}).get(vendor, {}))
            )
    except BaseException:
        for handle in handles.values():
            handle.close()
        raise
    return SimulatorGroup(handles, world)
