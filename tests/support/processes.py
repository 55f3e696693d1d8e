"""The service as a separate `scriptbox serve` process, for tests that kill
it or use the CLI as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def cli_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTBOX_")}
    env["SCRIPTBOX_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


class ServiceProcess:
    """`scriptbox serve` (or `scriptbox worker`) as a child process; its
    output goes to a log file, so a chatty process never blocks on a pipe."""

    def __init__(
        self, env: dict[str, str], command: str = "serve", console_script: bool = False
    ) -> None:
        self.env = env
        self.command = command
        # The installed `scriptbox` command, as `make run` starts it, rather
        # than `python -m graphql_api.cli`.
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
                args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
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

    def program(self) -> list[str]:
        if self.console_script:
            return [str(Path(sys.executable).parent / "scriptbox")]
        return [sys.executable, "-m", "graphql_api.cli"]

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
