"""The `scriptbox` client as a user runs it: the installed console script in
a process of its own, with its own config dir (XDG_CONFIG_HOME), pointed at
a served process by SCRIPTBOX_URL; without a terminal unless `on_terminal`."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO

SCRIPTBOX = str(Path(sys.executable).parent / "scriptbox")


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class CommandLine:
    env: dict[str, str]
    cwd: Path

    @property
    def config_file(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "scriptbox" / "config.json"

    def with_env(self, **changes: str) -> CommandLine:
        return CommandLine({**self.env, **changes}, self.cwd)

    def without(self, *names: str) -> CommandLine:
        return CommandLine({k: v for k, v in self.env.items() if k not in names}, self.cwd)

    async def __call__(
        self, *args: str, stdin: str | None = None, merged: bool = False
    ) -> Finished:
        """`merged`: stderr into the same pipe as stdout, to see the order."""
        done = await asyncio.to_thread(
            subprocess.run,
            [SCRIPTBOX, *args],
            env=self.env,
            cwd=self.cwd,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE,
            text=True,
            timeout=180,
            check=False,
        )
        return Finished(done.returncode, done.stdout, done.stderr or "")

    async def interrupted(self, *args: str, once: str) -> Finished:
        """Run until `once` appears on its stdout, then press Ctrl-C (SIGINT)."""
        return await asyncio.to_thread(self._interrupted, args, once)

    def _interrupted(self, args: tuple[str, ...], once: str) -> Finished:
        process = subprocess.Popen(
            [SCRIPTBOX, *args],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        try:
            shown = ""
            deadline = time.monotonic() + 120
            while once not in shown:
                text = process.stdout.readline()
                if not text or time.monotonic() > deadline:
                    raise AssertionError(f"{args} never printed {once!r}; it printed {shown!r}")
                shown += text
            process.send_signal(signal.SIGINT)
            rest, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return Finished(process.returncode, shown + rest, stderr)

    async def on_terminal(self, *args: str, answers: dict[str, str] | None = None) -> Finished:
        """Run with a pseudo-terminal as stdin, stdout and stderr, as in a
        shell; `answers` are typed as a person would, each once its prompt
        has been shown (so the terminal's echo is as the program set it)."""
        return await asyncio.to_thread(self._on_terminal, args, dict(answers or {}))

    def _on_terminal(self, args: tuple[str, ...], answers: dict[str, str]) -> Finished:
        leader, follower = pty.openpty()
        process = subprocess.Popen(
            [SCRIPTBOX, *args],
            env={**self.env, "TERM": "xterm-256color", "COLUMNS": "160"},
            cwd=self.cwd,
            stdin=follower,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
            for prompt in [p for p in answers if chunk.decode(errors="replace").endswith(p)]:
                os.write(leader, (answers.pop(prompt) + "\n").encode())
        os.close(leader)
        returncode = process.wait(timeout=180)
        return Finished(returncode, b"".join(chunks).decode(errors="replace"), "")


def command_line(url: str, home: Path) -> CommandLine:
    """No SCRIPTBOX_* variable of the shell, the config dir in `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTBOX_")}
    env.pop("NO_COLOR", None)
    env.update(XDG_CONFIG_HOME=str(home / "config"), SCRIPTBOX_URL=url)
    return CommandLine(env, REPO)
