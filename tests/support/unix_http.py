"""A plain HTTP server on a unix socket, in a thread: a stand-in for a
service behind the runner's bridge, for tests of the API's proxy."""

from __future__ import annotations

import os
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
def bindable(path: Path) -> Iterator[str]:
    """`path` as an address to bind: through its directory's descriptor
    (/proc/self/fd/N/<name>), since a test's data directory can be deeper
    than the 108 bytes a unix socket address holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    directory = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)


@contextmanager
def serving(path: Path, handler: type[BaseHTTPRequestHandler]) -> Iterator[UnixHTTPServer]:
    with bindable(path) as address:
        server = UnixHTTPServer(address, handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        path.unlink(missing_ok=True)
