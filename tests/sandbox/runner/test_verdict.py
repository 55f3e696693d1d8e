"""The runner's verdict (sandbox/runner/verdict.py): result cap, timeout, causes.

The verdict is where the result byte cap holds for both ways a script returns
a value (main()'s report and the SCRIPTBOX_RESULT file) and where a timeout
or a kill becomes its error code. Each cap is checked one byte under, at and
over its edge, with the exact code and message the host passes on.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from sandbox.runner.child import ChildRun, ScriptShape
from sandbox.runner.job import DEFAULT_LIMITS, Job
from sandbox.runner.usage import RunUsage
from sandbox.runner.verdict import Verdict, judge, read_up_to
from tests.support.runner_local import point_runner_at

CAP = 100
MAX_MESSAGE = 4096  # the longest error message the runner reports
PROGRAM = ScriptShape(function_mode=False)
FUNCTION = ScriptShape(function_mode=True)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    point_runner_at(tmp_path, monkeypatch)
    return tmp_path


def job(**limits: float) -> Job:
    return Job(
        language="python",
        env={},
        limits={**DEFAULT_LIMITS, "result_bytes": CAP, **limits},
        key=b"k" * 16,
    )


def run(
    returncode: int | None = 0,
    *,
    timed_out: bool = False,
    report: bytes = b"",
    report_overflow: bool = False,
) -> ChildRun:
    return ChildRun(returncode, timed_out, report, report_overflow, RunUsage(0, 0.0, 0.0, 0.0))


def json_of_size(size: int) -> bytes:
    """A JSON string literal of exactly ``size`` bytes."""
    return json.dumps("a" * (size - 2)).encode()


def ok_report(body: bytes) -> bytes:
    return b'{"status":"ok"}\n' + body


def verdict_tuple(v: Verdict) -> tuple[str, int | None, str | None, str | None, bytes | None]:
    return (v.status, v.exit_code, v.error_code, v.error_message, v.result)


# -- the result cap, through the result file ------------------------------


@pytest.mark.parametrize("size", [CAP - 1, CAP])
def test_a_result_file_up_to_the_cap_is_the_result(root: Path, size: int) -> None:
    (root / "result.json").write_bytes(json_of_size(size))
    verdict = judge(job(), PROGRAM, run(0), 0)
    assert verdict_tuple(verdict) == ("succeeded", 0, None, None, json_of_size(size))


def test_a_result_file_one_byte_over_the_cap_is_refused(root: Path) -> None:
    (root / "result.json").write_bytes(json_of_size(CAP + 1))
    verdict = judge(job(), PROGRAM, run(0), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        0,
        "RESULT_TOO_LARGE",
        f"result is {CAP + 1} bytes; the limit is {CAP}",
        None,
    )


def test_no_result_file_is_no_result(root: Path) -> None:
    assert verdict_tuple(judge(job(), PROGRAM, run(0), 0)) == ("succeeded", 0, None, None, None)


def test_the_result_file_is_normalised_to_compact_json(root: Path) -> None:
    (root / "result.json").write_bytes(b'{ "a" : [1, 2],\n "\xc3\xa9": "\\u00e9" }')
    verdict = judge(job(), PROGRAM, run(0), 0)
    assert verdict.result == '{"a":[1,2],"é":"é"}'.encode()


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"NaN", "Out of range float values are not JSON compliant"),
        (b"{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ],
)
def test_a_result_file_that_is_not_json_is_an_invalid_result(
    root: Path, content: bytes, detail: str
) -> None:
    (root / "result.json").write_bytes(content)
    verdict = judge(job(), PROGRAM, run(0), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        0,
        "INVALID_RESULT",
        f"the result file is not valid JSON: {detail}",
        None,
    )


def test_a_result_nested_past_the_recursion_limit_is_an_invalid_result(root: Path) -> None:
    (root / "result.json").write_bytes(b"[" * 50_000 + b"]" * 50_000)
    verdict = judge(job(result_bytes=200_000), PROGRAM, run(0), 0)
    assert verdict.error_code == "INVALID_RESULT"
    assert verdict.error_message is not None
    assert verdict.error_message.startswith("the result file is not valid JSON: ")


def test_a_symlinked_result_file_is_never_followed(root: Path) -> None:
    (root / "elsewhere.json").write_bytes(b"1")
    (root / "result.json").symlink_to(root / "elsewhere.json")
    verdict = judge(job(), PROGRAM, run(0), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        0,
        "INVALID_RESULT",
        "the result file cannot be opened: Too many levels of symbolic links",
        None,
    )


def test_a_result_file_that_is_a_fifo_is_not_read(root: Path) -> None:
    os.mkfifo(root / "result.json")
    verdict = judge(job(), PROGRAM, run(0), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        0,
        "INVALID_RESULT",
        "the result file is not a regular file",
        None,
    )


def test_a_result_file_that_is_a_socket_is_not_opened(root: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(root / "result.json"))
        verdict = judge(job(), PROGRAM, run(0), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        0,
        "INVALID_RESULT",
        "the result file cannot be opened: No such device or address",
        None,
    )


# -- the result cap, through main()'s report ------------------------------


@pytest.mark.parametrize("size", [CAP - 1, CAP])
def test_a_main_result_up_to_the_cap_is_the_result(root: Path, size: int) -> None:
    verdict = judge(job(), FUNCTION, run(0, report=ok_report(json_of_size(size))), 0)
    assert verdict_tuple(verdict) == ("succeeded", 0, None, None, json_of_size(size))


def test_a_main_result_one_byte_over_the_cap_is_refused(root: Path) -> None:
    verdict = judge(job(), FUNCTION, run(0, report=ok_report(json_of_size(CAP + 1))), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        0,
        "RESULT_TOO_LARGE",
        f"main() result is {CAP + 1} bytes; the limit is {CAP}",
        None,
    )


def test_a_report_past_the_pipe_cap_is_a_result_too_large(root: Path) -> None:
    verdict = judge(job(), FUNCTION, run(0, report_overflow=True), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        0,
        "RESULT_TOO_LARGE",
        f"main() returned more than {CAP} bytes of JSON",
        None,
    )


def test_a_main_result_that_is_not_json_is_an_invalid_result(root: Path) -> None:
    verdict = judge(job(), FUNCTION, run(0, report=ok_report(b"\xff")), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        0,
        "INVALID_RESULT",
        "main() result is not valid JSON: 'utf-8' codec can't decode byte 0xff in position 0:"
        " invalid start byte",
        None,
    )


def test_a_report_is_only_read_in_function_mode(root: Path) -> None:
    (root / "result.json").write_bytes(b"2")
    verdict = judge(job(), PROGRAM, run(0, report=ok_report(b"1")), 0)
    assert verdict.result == b"2"


@pytest.mark.parametrize("head", [b"not json", b"[1]"])
def test_a_report_whose_head_is_no_object_falls_back_to_the_result_file(
    root: Path, head: bytes
) -> None:
    (root / "result.json").write_bytes(b"3")
    verdict = judge(job(), FUNCTION, run(0, report=head + b"\n1"), 0)
    assert verdict_tuple(verdict) == ("succeeded", 0, None, None, b"3")


# -- errors main() reported ------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "code"),
    [
        ("SCRIPT_ERROR", "SCRIPT_ERROR"),
        ("INVALID_RESULT", "INVALID_RESULT"),
        ("OTHER", "SCRIPT_ERROR"),
    ],
)
def test_a_reported_error_keeps_only_a_known_code(root: Path, reported: str, code: str) -> None:
    head = json.dumps({"status": "error", "code": reported, "message": "boom"}).encode()
    verdict = judge(job(), FUNCTION, run(1, report=head + b"\n"), 0)
    assert verdict_tuple(verdict) == ("failed", 1, code, "boom", None)


@pytest.mark.parametrize("length", [MAX_MESSAGE - 1, MAX_MESSAGE, MAX_MESSAGE + 1])
def test_a_reported_message_is_cut_at_the_message_cap(root: Path, length: int) -> None:
    head = json.dumps({"status": "error", "code": "SCRIPT_ERROR", "message": "m" * length})
    verdict = judge(job(), FUNCTION, run(1, report=head.encode() + b"\n"), 0)
    assert verdict.error_message == "m" * min(length, MAX_MESSAGE)


@pytest.mark.parametrize("length", [MAX_MESSAGE - 1, MAX_MESSAGE, MAX_MESSAGE + 1])
def test_a_syntax_error_is_a_script_error_cut_at_the_message_cap(root: Path, length: int) -> None:
    shape = ScriptShape(function_mode=False, syntax_error="s" * length)
    verdict = judge(job(), shape, run(1), 0)
    expected = "s" * min(length, MAX_MESSAGE)
    assert verdict_tuple(verdict) == ("failed", 1, "SCRIPT_ERROR", expected, None)


# -- exit codes, kills, timeout, out of memory ----------------------------


def test_a_non_zero_exit_fails_with_its_code(root: Path) -> None:
    (root / "result.json").write_bytes(b"1")
    verdict = judge(job(), PROGRAM, run(1), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        1,
        "NON_ZERO_EXIT",
        "the script exited with code 1",
        None,
    )


@pytest.mark.parametrize(
    ("returncode", "exit_code", "name"), [(-9, 137, "SIGKILL"), (-1, 129, "SIGHUP")]
)
def test_a_kill_by_signal_is_reported_by_name_and_shell_exit_code(
    root: Path, returncode: int, exit_code: int, name: str
) -> None:
    verdict = judge(job(), PROGRAM, run(returncode), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        exit_code,
        "NON_ZERO_EXIT",
        f"the script was killed by {name}",
        None,
    )


def test_a_signal_without_a_name_is_reported_by_number(root: Path) -> None:
    verdict = judge(job(), PROGRAM, run(-100), 0)
    assert verdict_tuple(verdict) == (
        "failed",
        228,
        "NON_ZERO_EXIT",
        "the script was killed by signal 100",
        None,
    )


def test_a_timeout_is_timed_out_whatever_else_happened(root: Path) -> None:
    (root / "result.json").write_bytes(b"1")
    shape = ScriptShape(function_mode=True, syntax_error="s")
    verdict = judge(job(timeout_seconds=2.5), shape, run(None, timed_out=True), 3)
    assert verdict_tuple(verdict) == (
        "timed_out",
        None,
        "TIMEOUT",
        "timed out after 2.5 s",
        None,
    )


def test_a_timeout_of_whole_seconds_is_shown_without_a_fraction(root: Path) -> None:
    verdict = judge(job(timeout_seconds=30.0), PROGRAM, run(None, timed_out=True), 0)
    assert verdict.error_message == "timed out after 30 s"


@pytest.mark.parametrize(("returncode", "oom_kills"), [(-9, 1), (-9, 2), (-1, 1)])
def test_a_kill_while_the_oom_killer_struck_is_out_of_memory(
    root: Path, returncode: int, oom_kills: int
) -> None:
    verdict = judge(job(), PROGRAM, run(returncode), oom_kills)
    assert verdict_tuple(verdict) == (
        "failed",
        128 - returncode,
        "OUT_OF_MEMORY",
        "the script exceeded its memory limit and was killed",
        None,
    )


@pytest.mark.parametrize("returncode", [0, 1])
def test_an_oom_kill_of_another_process_is_not_the_scripts_death(
    root: Path, returncode: int
) -> None:
    verdict = judge(job(), PROGRAM, run(returncode), 1)
    assert verdict.error_code == (None if returncode == 0 else "NON_ZERO_EXIT")


def test_the_first_cause_is_the_one_reported(root: Path) -> None:
    head = json.dumps({"status": "error", "code": "INVALID_RESULT", "message": "first"})
    shape = ScriptShape(function_mode=True, syntax_error="second")
    verdict = judge(job(), shape, run(1, report=head.encode() + b"\n"), 0)
    assert verdict_tuple(verdict) == ("failed", 1, "INVALID_RESULT", "first", None)


# -- reading up to a limit -------------------------------------------------


@pytest.mark.parametrize("limit", [1, 65_535, 65_536, 65_537, 150_000, 200_000, 200_001])
def test_read_up_to_reads_exactly_the_limit_or_the_whole_file(tmp_path: Path, limit: int) -> None:
    data = os.urandom(200_000)
    (tmp_path / "f").write_bytes(data)
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    try:
        assert read_up_to(fd, limit) == data[:limit]
    finally:
        os.close(fd)
