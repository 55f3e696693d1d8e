"""In-container: decide a job's status, error code and result.

Part of the runner (stdlib only). Causes are checked from the most to the
least fundamental; the first failure found is the one reported.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
from dataclasses import dataclass
from typing import Any

from sandbox.runner.child import ChildRun, ScriptShape
from sandbox.runner.job import RESULT_PATH, Job

MAX_MESSAGE = 4096


@dataclass
class Verdict:
    status: str = "succeeded"
    exit_code: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    result: bytes | None = None  # normalised JSON text

    def fail(self, code: str, message: str, status: str = "failed") -> None:
        if self.error_code is None:
            self.status, self.error_code, self.error_message = status, code, message


def judge(job: Job, shape: ScriptShape, run: ChildRun, oom_kills_during_run: int) -> Verdict:
    limits = job.limits
    cap = int(limits["result_bytes"])
    verdict = Verdict()
    rc = run.returncode
    if rc is not None:
        # Shell convention for deaths by signal (137 for SIGKILL).
        verdict.exit_code = rc if rc >= 0 else 128 - rc
    if run.timed_out:
        verdict.fail("TIMEOUT", f"timed out after {limits['timeout_seconds']:g} s", "timed_out")
        return verdict
    if rc is not None and rc < 0 and oom_kills_during_run > 0:
        verdict.fail("OUT_OF_MEMORY", "the script exceeded its memory limit and was killed")
        return verdict

    report: dict[str, Any] = {}
    report_body = b""
    if shape.function_mode and run.report:
        head, _, report_body = run.report.partition(b"\n")
        with contextlib.suppress(ValueError):
            decoded = json.loads(head)
            report = decoded if isinstance(decoded, dict) else {}
    if report.get("status") == "error":
        code = str(report.get("code"))
        verdict.fail(
            code if code in ("SCRIPT_ERROR", "INVALID_RESULT") else "SCRIPT_ERROR",
            str(report.get("message", ""))[:MAX_MESSAGE],
        )
    if shape.syntax_error is not None:
        verdict.fail("SCRIPT_ERROR", shape.syntax_error[:MAX_MESSAGE])
    if rc is not None and rc > 0:
        verdict.fail("NON_ZERO_EXIT", f"the script exited with code {rc}")
    elif rc is not None and rc < 0:
        verdict.fail("NON_ZERO_EXIT", f"the script was killed by {_signal_name(-rc)}")
    if verdict.error_code is not None:
        return verdict

    if run.report_overflow:
        verdict.fail("RESULT_TOO_LARGE", f"main() returned more than {cap} bytes of JSON")
    elif report.get("status") == "ok":
        verdict.result = normalise_json(report_body, cap, "main() result", verdict)
    else:
        verdict.result = read_result_file(cap, verdict)
    return verdict


def normalise_json(text: bytes, cap: int, what: str, verdict: Verdict) -> bytes | None:
    """Compact, strict JSON (no NaN/Infinity), or None with the verdict failed."""
    if len(text) > cap:
        verdict.fail("RESULT_TOO_LARGE", f"{what} is {len(text)} bytes; the limit is {cap}")
        return None
    try:
        value = json.loads(text.decode("utf-8"))
        compact = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return compact.encode()
    except (ValueError, RecursionError) as exc:
        verdict.fail("INVALID_RESULT", f"{what} is not valid JSON: {exc}"[:MAX_MESSAGE])
        return None


def read_result_file(cap: int, verdict: Verdict) -> bytes | None:
    """The program's SCRIPTBOX_RESULT file, if it wrote a regular one."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(RESULT_PATH, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        verdict.fail("INVALID_RESULT", f"the result file cannot be opened: {exc.strerror}")
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            verdict.fail("INVALID_RESULT", "the result file is not a regular file")
            return None
        if info.st_size > cap:
            verdict.fail("RESULT_TOO_LARGE", f"result is {info.st_size} bytes; the limit is {cap}")
            return None
        data = read_up_to(fd, cap + 1)
    finally:
        os.close(fd)
    return normalise_json(data, cap, "the result file", verdict)


def read_up_to(fd: int, limit: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < limit:
        data = os.read(fd, min(65536, limit - len(chunks)))
        if not data:
            break
        chunks += data
    return bytes(chunks)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
