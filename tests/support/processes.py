"""The service as a separate `scriptbox serve` process, for tests that kill
it, use the CLI as an operator would, or need settings of their own (only
one in-process service may hold the ORM at a time, and the suite's holds it)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType

import httpx

from tests.support.owners import fresh_owned_name, is_owned
from tests.support.package_index import refuse_remote_index, suite_index
from tests.support.paths import REPO
from tests.support.servers import free_port, shell_variables
from tests.support.volumes import PROCESSES_NAMESPACE


def cli_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `scriptbox` command: none of the shell's
    SCRIPTBOX_* variables (but the sandbox image under test), a worker name
    of this run (tests/support/owners.py), the run's namespace for
    dependency volumes and the suite's package index unless `extra` gives
    them, then `extra`."""
    env = shell_variables()
    env["SCRIPTBOX_DATA_DIR"] = str(data_dir)
    env["SCRIPTBOX_WORKER_NAME"] = fresh_owned_name("cli")
    env["SCRIPTBOX_DEPS_NAMESPACE"] = PROCESSES_NAMESPACE
    env["SCRIPTBOX_DEPS_INDEX_URL"] = suite_index().url
    env.update(extra)
    refuse_remote_index(env["SCRIPTBOX_DEPS_INDEX_URL"])
    return env


class ServiceProcess:
    """`scriptbox serve` (or `scriptbox worker`) as a child process; its
    output goes to a log file, so a chatty process never blocks on a pipe."""

    def __init__(
        self, env: dict[str, str], command: str = "serve", console_script: bool = False
    ) -> None:
        worker_name = env.get("SCRIPTBOX_WORKER_NAME")
        if not is_owned(worker_name):
            # Its containers would escape the session's leftovers check.
            raise ValueError(f"worker name {worker_name!r} is not of this test run: use owned_name")
        # Unset, the process would use pip's default index: the internet.
        refuse_remote_index(env.get("SCRIPTBOX_DEPS_INDEX_URL", ""))
        self.env = env
        self.command = command
        # The installed `scriptbox` command, as `make run` starts it, rather
        # than `python -m roles.cli`.
        self.console_script = console_script
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix=f"scriptbox-{command}-", suffix=".log")[1])

    def start(self, timeout: float = 60) -> ServiceProcess:
        args = [*self.program(), self.command]
        if self.command == "serve":
            args += ["--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )
        if self.command != "serve":
            return self
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(self.output())
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not start:\n" + self.output())
            time.sleep(0.2)

    def __enter__(self) -> ServiceProcess:
        try:
            return self.start()
        except BaseException:
            self.stop()  # one that never answered /healthz may still be running
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def program(self) -> list[str]:
        if self.console_script:
            return [str(Path(sys.executable).parent / "scriptbox")]
        return [sys.executable, "-m", "roles.cli"]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@asynccontextmanager
async def own_service(data_dir: Path, **settings: str) -> AsyncIterator[ServiceProcess]:
    """`scriptbox serve` of a test's own: SQLite and local storage in
    `data_dir`, one warm container, and `settings`; started and stopped
    off the event loop."""
    service = ServiceProcess(cli_environment(data_dir, SCRIPTBOX_WARM_POOL_SIZE="1", **settings))
    await asyncio.to_thread(service.__enter__)
    try:
        yield service
    finally:
        await asyncio.to_thread(service.stop)
