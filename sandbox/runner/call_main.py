"""Function-mode harness: the user's child process when a script defines main().

Runs inside the sandbox as ``python3 -u call_main.py SCRIPT REPORT_FD``, or
started ahead of the job as ``python3 -u call_main.py --standby REPORT_FD``:
then it waits for the runner's order on stdin (one JSON object, then EOF:
the script's path, working directory, environment and the file to take as
stdin), takes it on exactly as a fresh start would have been given it, and
goes on the same way. It
loads SCRIPT as a module named ``script`` (not ``__main__``, so an
``if __name__ == "__main__":`` block does not run), calls ``main(data)`` with
the input JSON, and writes a report to REPORT_FD for the runner:

    one JSON line {"status": "ok"} followed by the result's JSON text, or
    one JSON line {"status": "error", "code": ..., "message": ...}

Stdlib only; nothing here is trusted by the runner beyond what the report
says (the user's code runs in this process and could forge it, which only
hurts the user's own result).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import sys
from types import CoroutineType, TracebackType
from typing import Any

MODULE_NAME = "script"


def _report(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    data = json.dumps(header).encode() + b"\n" + body
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _user_frames(tb: TracebackType | None) -> TracebackType | None:
    """Drop the harness's and importlib's frames from the top of a traceback."""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename != __file__ and not filename.startswith("<frozen importlib"):
            break
        tb = tb.tb_next
    return tb


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _search_path(script: str) -> list[str]:
    """As with `python3 script.py`, the script's directory comes first;
    when the job ships the scripts it imports, their folders in
    $SCRIPTBOX_LIB (the runner puts them first in PYTHONPATH) take its
    place. A standby started before the job read no PYTHONPATH: add them."""
    lib = os.environ.get("SCRIPTBOX_LIB", "")
    declared = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    imported = [entry for entry in declared if lib and entry.startswith(lib)]
    first = imported or [os.path.dirname(os.path.abspath(script))]
    return first + [entry for entry in sys.path[1:] if entry not in first]


def _await_order() -> str | None:
    """The runner's order, applied; None when the runner left without one."""
    chunks = []
    while chunk := os.read(0, 65536):
        chunks.append(chunk)
    if not chunks:
        return None
    order = json.loads(b"".join(chunks))
    os.environ.clear()
    os.environ.update(order["env"])
    os.chdir(order["cwd"])
    stdin = os.open(order["stdin"], os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    return str(order["script"])


def main(argv: list[str]) -> int:
    if argv[1] == "--standby":
        report_fd = int(argv[2])
        # What the harness made so far lives until the exit: moved out of
        # the collector's sight, it costs nothing at the interpreter's
        # shutdown, which the runner waits for (the script's own objects
        # are collected as ever).
        gc.freeze()
        waited = _await_order()
        if waited is None:
            return 0
        script = waited
    else:
        script, report_fd = argv[1], int(argv[2])
    # The user's own subprocesses must not inherit the report channel.
    os.set_inheritable(report_fd, False)
    sys.argv = [script]
    sys.path[:] = _search_path(script)

    with open(os.environ["SCRIPTBOX_INPUT"], "rb") as f:
        data = json.load(f)

    try:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, script)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {script}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module
        spec.loader.exec_module(module)
        result = module.main(data)
        if isinstance(result, CoroutineType):
            # Imported only here: asyncio costs ~50 ms of start-up otherwise.
            import asyncio

            result = asyncio.run(result)
    except Exception as exc:
        import traceback  # only on failure: saves start-up time on every run

        traceback.print_exception(type(exc), exc, _user_frames(exc.__traceback__))
        sys.stdout.flush()
        sys.stderr.flush()
        _report(report_fd, {"status": "error", "code": "SCRIPT_ERROR", "message": _describe(exc)})
        return 1

    sys.stdout.flush()
    try:
        # allow_nan=False: NaN and Infinity are not JSON, whatever Python says.
        text = json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        body = text.encode()  # lone surrogates cannot be sent as UTF-8
    except (TypeError, ValueError, RecursionError) as exc:
        message = f"main() returned a value that is not JSON-serialisable: {_describe(exc)}"
        _report(report_fd, {"status": "error", "code": "INVALID_RESULT", "message": message})
        return 0
    _report(report_fd, {"status": "ok"}, body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
