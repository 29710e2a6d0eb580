"""The loopback HTTP server that lets a real browser use a :class:`ShopApp`.

One ``http.server.ThreadingHTTPServer`` per app and process, bound to ``127.0.0.1`` on a port the
system picks, serving :meth:`ShopApp.handle` from a daemon thread. Every env of a process shares
it: :func:`acquire_server` starts it on first use and counts users, :func:`release_server`
shuts it down when the last user lets go. Sessions keep episodes apart (``/s/<sid>/``), so one
server serves any number of envs at once.

Example::

    server = acquire_server(app)
    url = server.url(app.home_path(app.new_session("buy socks")))  # http://127.0.0.1:PORT/s/1/
    ...
    release_server(server)
"""

from __future__ import annotations

import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agentgym.envs.web.shop.app import ShopApp
from agentgym.errors import AgentGymError

__all__ = ["HOST", "ShopServer", "acquire_server", "release_server"]

log = logging.getLogger(__name__)

#: The only address the shop ever binds.
HOST = "127.0.0.1"
_MAX_BODY = 1 << 20  # forms are tiny; anything bigger is refused unread


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the server's app and writes its answer back unchanged."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: a browser reuses its connection
    server_version = "agentgym-shop"
    timeout = 30  # an idle keep-alive connection frees its thread after this long

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer("GET", b"")

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer("HEAD", b"")

    def do_POST(self) -> None:  # noqa: N802
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > _MAX_BODY:
            self.send_error(413 if length.isdigit() else 411)
            return
        self._answer("POST", self.rfile.read(int(length)))

    def _answer(self, method: str, body: bytes) -> None:
        status, headers, content = self.server.app.handle(method, self.path, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(content)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (base signature)
        log.debug("shop %s: " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: ShopApp) -> None:
        self.app = app
        super().__init__((HOST, 0), _Handler)


class ShopServer:
    """A running loopback server for one app; get one with :func:`acquire_server`.

    Attributes:
        app: The app it serves.
        port: The port it listens on.
        origin: ``'http://127.0.0.1:PORT'``; a page's URL is ``origin + path``.
    """

    def __init__(self, app: ShopApp) -> None:
        self.app = app
        self._httpd = _Server(app)
        self.port: int = self._httpd.server_address[1]
        self.origin = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name=f"shop-server-{self.port}", daemon=True)
        self._thread.start()
        self.closed = False
        log.debug("shop server listening on %s", self.origin)

    def url(self, path: str) -> str:
        """The full URL of a path of the app (``server.url('/s/1/')``)."""
        return self.origin + path

    def close(self) -> None:
        """Stop serving and close the port (idempotent). Prefer :func:`release_server`."""
        if not self.closed:
            self.closed = True
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)


_lock = threading.Lock()
_servers: dict[int, tuple[ShopServer, int]] = {}  # id(app) -> (server, users)
_owner_pid = os.getpid()


def _forget_if_forked() -> None:
    """A forked child inherits the table but not the serving threads: start it afresh."""
    global _owner_pid
    if os.getpid() != _owner_pid:
        for server, _ in _servers.values():
            server._httpd.socket.close()  # the parent keeps its own copy of the socket
        _servers.clear()
        _owner_pid = os.getpid()


def acquire_server(app: ShopApp) -> ShopServer:
    """The process's server for ``app``, started on first use; pair every call with a release.

    Args:
        app: The app to serve.

    Returns:
        The shared server; ``server.origin`` is its address.
    """
    with _lock:
        _forget_if_forked()
        server, users = _servers.get(id(app), (None, 0))
        if server is None:
            server = ShopServer(app)
        _servers[id(app)] = (server, users + 1)
        return server


def release_server(server: ShopServer) -> None:
    """Give back one use of ``server``; the last release shuts it down and closes its port.

    Raises:
        AgentGymError: ``server`` has no users left (released more often than acquired).
    """
    with _lock:
        _forget_if_forked()
        entry = _servers.get(id(server.app))
        if entry is None or entry[0] is not server:
            raise AgentGymError(
                f"release_server: the server at {server.origin} has no users left; each "
                "acquire_server() is matched by exactly one release_server()."
            )
        users = entry[1] - 1
        if users:
            _servers[id(server.app)] = (server, users)
            return
        del _servers[id(server.app)]
    server.close()
