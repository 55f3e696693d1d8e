"""The processes under test, each on its own free 127.0.0.1 port with its own
temporary data dir: `scriptbox serve` (exactly what `make run` starts) and
the hello-world baseline of B5 (bench/hello_app.py, same uvicorn settings)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import cleanup

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def temp_dir(tag: str, keep: bool = False) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"scriptbox-bench-{tag}-"))
    if not keep:
        cleanup.on_cleanup(lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (VmRSS), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Process:
    """A server subprocess on 127.0.0.1:<free port>, output to a log file."""

    def __init__(
        self, args: list[str], env: dict[str, str], log_path: Path, serves_http: bool = True
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A `scriptbox worker` serves no HTTP: started, it is not waited for.
        self.serves_http = serves_http
        self.args = [*args, "--port", str(self.port)] if serves_http else args
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, ready_path: str = "/healthz") -> Process:
        with self.log_path.open("ab") as log:
            self.process = cleanup.spawn(
                self.args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        if not self.serves_http:
            return self
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if httpx.get(self.url + ready_path, timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.args[2:4]} exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.args[2:4]} did not start:\n{self.log_tail()}")
            time.sleep(0.2)

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None:
            cleanup.stop(self.process)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def service_env(data_dir: Path, worker_name: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTBOX_")}
    # The one setting taken from the bench's own environment: a development
    # build of the sandbox image beside the :latest other sessions use.
    if os.environ.get("SCRIPTBOX_SANDBOX_IMAGE"):
        env["SCRIPTBOX_SANDBOX_IMAGE"] = os.environ["SCRIPTBOX_SANDBOX_IMAGE"]
    env["SCRIPTBOX_DATA_DIR"] = str(data_dir)
    env["SCRIPTBOX_WORKER_NAME"] = worker_name
    env.update({f"SCRIPTBOX_{k.upper()}": v for k, v in settings.items()})
    return env


def scriptbox_serve(tag: str, data_dir: Path | None = None, **settings: str) -> Process:
    """`scriptbox serve` with default settings except those given
    (e.g. worker_concurrency="1" sets SCRIPTBOX_WORKER_CONCURRENCY)."""
    data_dir = data_dir or temp_dir(tag)
    env = service_env(data_dir, cleanup.new_worker_name(tag), **settings)
    args = [sys.executable, "-m", "roles.cli", "serve", "--host", "127.0.0.1"]
    return Process(args, env, data_dir / "service.log").start()


def scriptbox_worker(tag: str, data_dir: Path, **settings: str) -> Process:
    """`scriptbox worker` (no HTTP), named for the bench's clean-up; each
    name its own (two workers of one name would reap each other's containers)."""
    name = cleanup.new_worker_name(f"{tag}-{secrets.token_hex(3)}")
    env = service_env(data_dir, name, **settings)
    args = [sys.executable, "-m", "roles.cli", "worker"]
    return Process(args, env, data_dir / f"{env['SCRIPTBOX_WORKER_NAME']}.log", serves_http=False)


def hello_world(tag: str = "hello") -> Process:
    data_dir = temp_dir(tag)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTBOX_")}
    args = [sys.executable, "-m", "bench.hello_app", "--host", "127.0.0.1"]
    return Process(args, env, data_dir / "hello.log").start()
