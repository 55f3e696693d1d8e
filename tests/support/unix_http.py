"""A plain HTTP server on a unix socket, in a thread: a stand-in for a
service behind the runner's bridge, for tests of the API's proxy."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path


class UnixHTTPServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # client_address is '' on a unix socket; nothing to log anyway


@contextmanager
def serving(path: Path, handler: type[BaseHTTPRequestHandler]) -> Iterator[UnixHTTPServer]:
    path.parent.mkdir(parents=True, exist_ok=True)
    server = UnixHTTPServer(str(path), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        path.unlink(missing_ok=True)
