"""In-container: bridge a unix socket the host can reach to the service's port.

Part of the runner (stdlib only, Python 3.11). A service started with
``http: true`` listens on ``127.0.0.1:$PORT`` inside a container that has no
network. The host mounts a directory of its own at ``SOCKET_DIR``; the runner
listens on ``SOCKET_PATH`` there and, for each connection the host's proxy
opens, connects to the service's port and copies bytes both ways until
either side closes. It understands nothing of HTTP: bytes in, bytes out.

Who may touch the socket. The directory is the host's and owned by host
root, mode 0755 (the sandbox refuses any other, see
``sandbox/http_sockets.py``): the script (uid 10001 through and through)
cannot create, rename or remove anything in it, so it can neither plant a
symlink the host would follow (to the Docker socket, say) nor fill the
host's disk. The runner binds the socket with its file-system uid set to 0
for that one call (``setfsuid``: its real uid is 0, so no capability is
needed, and the capabilities it still holds, SETUID and SETGID, are not
file-system ones): file operations as root, nothing else changes; signals,
ptrace and ``/proc`` still see effective uid 10001. The socket is mode 0666
so the host's proxy, whatever its uid, can connect; the script may connect
too, which only reaches its own port.

The bridge never touches the frame stream (it writes diagnostics to stderr
only), its descriptors are close-on-exec so no child inherits them, and its
threads are daemon threads: it stops when ``stop`` is called at the end of
the job, and at the latest when the runner exits, one container, one job.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import socket
import stat
import threading
import time

SOCKET_DIR = "/run/scriptbox-http"
SOCKET_PATH = f"{SOCKET_DIR}/http.sock"
SERVICE_PORT = 8080  # $PORT of an http service; fixed, so the host need not be told
# Each bridged connection is one thread; threads count against the
# container's pids limit, shared with the script.
MAX_CONNECTIONS = 32
CONNECT_PATIENCE_SECONDS = 5.0  # a request that comes while the service starts waits
CONNECT_RETRY_SECONDS = 0.05
COPY_BYTES = 64 * 1024


def _diag(message: str) -> None:
    os.write(2, f"scriptbox-runner: http bridge: {message}\n".encode(errors="replace"))


class _RootFiles:
    """File operations as uid 0 in this thread, for the duration of a ``with``.

    setfsuid changes only the uid the kernel checks for file access, per
    thread, and needs no capability when the new value is the real uid.
    """

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)

    def __enter__(self) -> None:
        self._before = self._libc.setfsuid(0)
        if self._libc.setfsuid(-1) != 0:  # setfsuid reports failure only this way
            raise OSError("setfsuid(0) did not take")

    def __exit__(self, *exc: object) -> None:
        self._libc.setfsuid(self._before)


def listen(path: str = SOCKET_PATH) -> socket.socket:
    """Bind the host-facing socket (replacing one a previous container left)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        with _RootFiles():
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    os.unlink(path)
            server.bind(path)
            os.chmod(path, 0o666)
        server.listen(MAX_CONNECTIONS)
    except BaseException:
        server.close()
        raise
    return server


class HttpBridge:
    """Accepts on the host-facing socket; one thread per bridged connection."""

    def __init__(self, server: socket.socket, port: int = SERVICE_PORT) -> None:
        self._server = server
        self._port = port
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="http-bridge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting and remove the socket; open connections end with
        the service's processes, which the runner kills when the job ends."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            # Wakes a thread blocked in accept() (it then sees EINVAL).
            self._server.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=2.0)
        path = self._server.getsockname()
        self._server.close()
        with contextlib.suppress(OSError), _RootFiles():
            os.unlink(path)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            self._slots.acquire()
            try:
                client, _ = self._server.accept()
            except OSError:
                self._slots.release()
                if self._stopping.is_set():
                    return
                time.sleep(CONNECT_RETRY_SECONDS)  # EMFILE and the like: do not spin
                continue
            threading.Thread(
                target=self._serve, args=(client,), name="http-bridge-conn", daemon=True
            ).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = self._connect_service()
            if upstream is None:
                return  # the host's proxy sees the connection close: a 502
            with upstream:
                _copy_both_ways(client, upstream)
        except OSError as exc:
            _diag(f"connection ended: {exc}")
        finally:
            client.close()
            self._slots.release()

    def _connect_service(self) -> socket.socket | None:
        """The service's port, retried briefly while the service starts."""
        deadline = time.monotonic() + CONNECT_PATIENCE_SECONDS
        while not self._stopping.is_set():
            try:
                return socket.create_connection(("127.0.0.1", self._port), timeout=1.0)
            except OSError:
                if time.monotonic() >= deadline:
                    return None
                time.sleep(CONNECT_RETRY_SECONDS)
        return None


def _copy_both_ways(a: socket.socket, b: socket.socket) -> None:
    """Copy until both directions have ended; a half-close is passed on."""
    a.setblocking(True)
    b.setblocking(True)
    peers = {a: b, b: a}
    open_reads = {a, b}
    with selectors.DefaultSelector() as selector:
        for sock in open_reads:
            selector.register(sock, selectors.EVENT_READ)
        while open_reads:
            for key, _ in selector.select():
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                data = source.recv(COPY_BYTES)
                if data:
                    # Blocking send: a slow reader slows its writer, no buffer grows.
                    peers[source].sendall(data)
                    continue
                selector.unregister(source)
                open_reads.discard(source)
                with contextlib.suppress(OSError):
                    peers[source].shutdown(socket.SHUT_WR)
