"""A vendor simulator served over real HTTP, with some of its answers scripted by the test.

The simulators answer like the vendors do; a vendor, a proxy or a firewall in front of it can
also answer in ways no simulator fault mode covers (a ``{}`` page, an HTML page on a DELETE, a
body that trickles in). A test passes ``script(request)``: it returns the answer to send
instead (a werkzeug :class:`~werkzeug.wrappers.Response`, whose body may be a generator of
chunks) or ``None`` to let the simulator answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from connectors import BaseConnector, RetryPolicy, create
from simulators.runner import create_app

Script = Callable[[Request], Response | None]


class _QuietHandler(WSGIRequestHandler):
    """Serves without logging every request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Do not log requests."""

    def log_error(self, format: str, *args: Any) -> None:
        """Do not log dropped connections (a client that gave up on a body)."""


class ScriptedServer:
    """One vendor's simulator on a free 127.0.0.1 port, behind ``script``.

    ``requests`` lists ``(method, path)`` of every request that reached the server.
    """

    def __init__(self, vendor: str, script: Script | None = None) -> None:
        self.vendor = vendor
        self.app = create_app(vendor)
        self.script = script
        self.requests: list[tuple[str, str]] = []
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.root_url = f"http://127.0.0.1:{self._server.server_port}"
        self.base_url = self.root_url + self.app.api_prefix

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        self.requests.append((request.method, request.path))
        answer = self.script(request) if self.script is not None else None
        if answer is None:
            return self.app(environ, start_response)
        return answer(environ, start_response)

    def forward(self, request: Request, **params: str) -> Response:
        """The simulator's answer to ``request``, with query parameters ``params`` replaced;
        a script may change it before sending it on."""
        environ = dict(request.environ)
        query = dict(request.args)
        query.update(params)
        environ["QUERY_STRING"] = urlencode(query)
        return Response.from_app(self.app, environ)

    def config(self) -> dict[str, Any]:
        """The connector configuration for this simulator."""
        creds = dict(self.app.credentials)
        config: dict[str, Any] = {"base_url": self.base_url}
        if self.vendor == "woocommerce":
            config.update(
                consumer_key=creds["consumer_key"], consumer_secret=creds["consumer_secret"]
            )
        elif self.vendor == "moneybird":
            config.update(
                token=creds["token"],
                administration_id=creds["administration_id"],
                web_url=self.root_url,
            )
        elif self.vendor == "zammad":
            config["token"] = creds["token"]
        else:
            config["api_key"] = creds["api_key"]
        return config

    def connector(self, retry: RetryPolicy) -> BaseConnector:
        """A connector for this server (close it, or use it in a ``with``)."""
        return create(self.vendor, self.config(), retry=retry)

    def stop(self) -> None:
        """Stop serving and close the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def json_answer(body: Any, status: int = 200, **headers: str) -> Response:
    """A JSON answer."""
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def html_answer(
    status: int = 200, text: str = "<html><body>Just a moment...</body></html>"
) -> Response:
    """An HTML page, as a firewall, proxy or maintenance mode serves it."""
    return Response(text, status=status, mimetype="text/html")


def trickle(chunks: Iterable[bytes], status: int = 200) -> Response:
    """An answer whose body is sent chunk by chunk as ``chunks`` yields them (no length)."""
    return Response(chunks, status=status, mimetype="application/json", direct_passthrough=True)
