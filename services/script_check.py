"""Checks that script content parses before it is stored.

Python is compiled (never run) on the host; shell is checked with `bash -n`
and JavaScript with `node --check`, which parse without executing anything.

bash reads the script from a temporary file given as its stdin, not from a
pipe: under uvloop (what `scriptbox serve` runs) a subprocess pipe is a
socket, which `/dev/stdin` cannot open, and bash reading commands from a
real pipe reports syntax errors without their line number. node is given
its script the same way."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile

from core.errors import InvalidScript
from core.languages import Language

BASH_CHECK_TIMEOUT_SECONDS = 10
NODE_CHECK_TIMEOUT_SECONDS = 10

log = logging.getLogger(__name__)


async def check_script(language: Language, name: str, content: str) -> None:
    if language is Language.PYTHON:
        # Compiling a large script takes seconds of CPU: in a thread, so the
        # event loop keeps serving other requests meanwhile.
        await asyncio.to_thread(_check_python, name, content)
    elif language is Language.JAVASCRIPT:
        await _check_javascript(content)
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


async def _parse_in(argv: list[str], content: str, timeout: float, what: str) -> str | None:
    """Run a parser on `content` given as its stdin: its complaint, or None."""
    # An unnamed file (gone when closed): no path to clean up or to leak.
    with tempfile.TemporaryFile() as script:
        script.write(content.encode())
        script.seek(0)
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=script,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise InvalidScript(f"The {what} took too long to parse.") from None
    if process.returncode == 0:
        return None
    return stderr.decode(errors="replace").strip()


# What V8 says when module syntax is checked as CommonJS. As the sandbox's
# harness does (sandbox/runner/call_main.mjs), a script that is not valid
# CommonJS for one of these reasons is checked, and run, as an ES module.
MODULE_SYNTAX_ERRORS = (
    "Cannot use import statement outside a module",
    "Unexpected token 'export'",
    "Cannot use 'import.meta' outside a module",
    "await is only valid in async functions and the top level bodies of modules",
)
_NODE_ERROR_LINE = re.compile(r"^\[stdin\]:(\d+)", re.MULTILINE)
_NODE_ERROR_MESSAGE = re.compile(r"^SyntaxError: (.*)$", re.MULTILINE)


async def _check_javascript(content: str) -> None:
    node = shutil.which("node")
    if node is None:
        # The sandbox reports a syntax error when the script runs; refusing
        # every save would make JavaScript unusable where node is missing.
        log.warning("node is not installed on this host: JavaScript is saved unchecked")
        return
    complaint = await _node_check(node, content, "commonjs")
    if complaint is not None and any(text in complaint for text in MODULE_SYNTAX_ERRORS):
        complaint = await _node_check(node, content, "module")
    if complaint is None:
        return
    found_line = _NODE_ERROR_LINE.search(complaint)
    found_message = _NODE_ERROR_MESSAGE.search(complaint)
    line = int(found_line.group(1)) if found_line else None
    detail = found_message.group(1) if found_message else complaint.rsplit("\n", 1)[-1]
    where = f" at line {line}" if line is not None else ""
    raise InvalidScript(f"JavaScript syntax error{where}: {detail}", line=line)


async def _node_check(node: str, content: str, input_type: str) -> str | None:
    argv = [node, "--check", f"--input-type={input_type}"]
    return await _parse_in(argv, content, NODE_CHECK_TIMEOUT_SECONDS, "JavaScript")


async def _check_shell(content: str) -> None:
    argv = ["bash", "-n", "/dev/stdin"]
    complaint = await _parse_in(argv, content, BASH_CHECK_TIMEOUT_SECONDS, "shell script")
    if complaint is not None:
        message = complaint.replace("/dev/stdin: ", "")
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
