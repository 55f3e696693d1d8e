"""Checks that script content parses before it is stored.

Python is compiled (never run) on the host; shell is checked with `bash -n`,
which parses without executing anything.

bash reads the script from a temporary file given as its stdin, not from a
pipe: under uvloop (what `scriptbox serve` runs) a subprocess pipe is a
socket, which `/dev/stdin` cannot open, and bash reading commands from a
real pipe reports syntax errors without their line number."""

from __future__ import annotations

import asyncio
import tempfile

from core.errors import InvalidScript
from core.languages import Language

BASH_CHECK_TIMEOUT_SECONDS = 10


async def check_script(language: Language, name: str, content: str) -> None:
    if language is Language.PYTHON:
        # Compiling a large script takes seconds of CPU: in a thread, so the
        # event loop keeps serving other requests meanwhile.
        await asyncio.to_thread(_check_python, name, content)
    else:
        await _check_shell(content)


def _check_python(name: str, content: str) -> None:
    try:
        compile(content, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 0
        raise InvalidScript(
            f"Python syntax error at line {line}: {exc.msg}",
            line=line,
            column=exc.offset,
        ) from None
    except ValueError as exc:  # e.g. NUL bytes in the source
        raise InvalidScript(f"Python cannot read this script: {exc}", line=None) from None
    except (RecursionError, MemoryError):
        # e.g. an expression of a hundred thousand chained operators.
        raise InvalidScript(
            "Python cannot compile this script: it is nested too deeply.", line=None
        ) from None


async def _check_shell(content: str) -> None:
    # An unnamed file (gone when closed): no path to clean up or to leak.
    with tempfile.TemporaryFile() as script:
        script.write(content.encode())
        script.seek(0)
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-n",
            "/dev/stdin",
            stdin=script,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), BASH_CHECK_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise InvalidScript("The shell script took too long to parse.") from None
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip().replace("/dev/stdin: ", "")
        line = _bash_error_line(message)
        raise InvalidScript(f"Shell syntax error: {message}", line=line)


def _bash_error_line(message: str) -> int | None:
    # bash -n reports "/dev/stdin: line N: ..."
    marker = "line "
    index = message.find(marker)
    if index < 0:
        return None
    digits = ""
    for ch in message[index + len(marker) :]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None
