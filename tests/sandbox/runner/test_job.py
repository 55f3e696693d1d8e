"""The job bundle as the runner receives it (sandbox/runner/job.py).

The runner merges the host's limits over its defaults (which must be the
host's own defaults), refuses a bundle over its byte cap before reading it,
a stream key too short to authenticate anything, and every malformed frame
sequence, each with its exact message.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from core.limits import SandboxLimits
from sandbox.runner import protocol as p
from sandbox.runner.job import DEFAULT_LIMITS, Job, receive_job
from tests.support.runner_local import point_runner_at

MAX_JOB_BYTES = 512 * 2**20  # the largest bundle the runner accepts
KEY = "ab" * 16


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    point_runner_at(tmp_path / "job", monkeypatch)
    (tmp_path / "job").mkdir()
    return tmp_path / "job"


def header(**fields: Any) -> bytes:
    message = {"type": p.Msg.JOB, "v": p.VERSION, "key": KEY, "language": "python"}
    message.update(fields)
    return p.encode_json({k: v for k, v in message.items() if v is not None})


def bundle(*frames: bytes | list[bytes]) -> list[bytes]:
    flat: list[bytes] = []
    for frame in frames:
        flat.extend(frame if isinstance(frame, list) else [frame])
    return flat


SCRIPT = p.encode_blob({"type": p.Msg.SCRIPT}, b"print(1)")
INPUT = p.encode_blob({"type": p.Msg.INPUT}, b"{}")
START = p.encode_json({"type": p.Msg.START})


def receive(tmp_path: Path, frames: list[bytes]) -> Job | None:
    """The runner reading ``frames`` as its stdin."""
    stdin = tmp_path / "stdin"
    stdin.write_bytes(b"".join(frames))
    fd = os.open(stdin, os.O_RDONLY)
    try:
        return receive_job(p.FdFrameReader(fd))
    finally:
        os.close(fd)


def refused(tmp_path: Path, frames: list[bytes]) -> str:
    with pytest.raises(p.ProtocolError) as caught:
        receive(tmp_path, frames)
    return str(caught.value)


def whole(*extra: bytes | list[bytes], **fields: Any) -> list[bytes]:
    return bundle(header(**fields), SCRIPT, INPUT, *extra, START)


# -- limits ----------------------------------------------------------------


def test_the_runners_default_limits_are_the_hosts(root: Path, tmp_path: Path) -> None:
    job = receive(tmp_path, whole())
    assert job is not None
    host = dataclasses.asdict(SandboxLimits())
    assert job.limits == {name: float(host[name]) for name in DEFAULT_LIMITS}
    assert job.limits == {
        "timeout_seconds": 30.0,
        "output_bytes_per_stream": 1048576.0,
        "result_bytes": 1048576.0,
        "artifact_max_count": 32.0,
        "artifact_max_total_bytes": 16777216.0,
    }


def test_the_hosts_limits_replace_the_defaults_one_by_one(root: Path, tmp_path: Path) -> None:
    job = receive(tmp_path, whole(limits={"result_bytes": 5, "timeout_seconds": "0.5"}))
    assert job is not None
    assert job.limits == {**DEFAULT_LIMITS, "result_bytes": 5.0, "timeout_seconds": 0.5}
    assert DEFAULT_LIMITS["result_bytes"] == 2**20  # the defaults themselves are untouched


# -- the stream key --------------------------------------------------------


@pytest.mark.parametrize("length", [16, 17])
def test_a_key_of_sixteen_bytes_or_more_is_taken(root: Path, tmp_path: Path, length: int) -> None:
    job = receive(tmp_path, whole(key="cd" * length))
    assert job is not None
    assert job.key == b"\xcd" * length


@pytest.mark.parametrize("key", ["cd" * 15, None])
def test_a_shorter_key_is_refused(root: Path, tmp_path: Path, key: str | None) -> None:
    assert refused(tmp_path, whole(key=key)) == "job lacks a stream key"


# -- the bundle byte cap ---------------------------------------------------


def announced_file(size: int) -> bytes:
    """A file header announcing ``size`` bytes; its data never follows."""
    return p.encode_json({"type": p.Msg.FILE, "name": "f", "size": size})


@pytest.mark.parametrize("total", [MAX_JOB_BYTES - 1, MAX_JOB_BYTES])
def test_a_bundle_up_to_the_cap_is_read(root: Path, tmp_path: Path, total: int) -> None:
    # 8 + 2 bytes of script and input, then a file that brings the total to
    # ``total``: the runner starts reading it (and finds the data missing).
    frames = bundle(header(), SCRIPT, INPUT, announced_file(total - 10))
    assert refused(tmp_path, frames) == f"blob for {root}/in/f is malformed"


def test_a_bundle_one_byte_over_the_cap_is_refused_before_it_is_read(
    root: Path, tmp_path: Path
) -> None:
    frames = bundle(header(), SCRIPT, INPUT, announced_file(MAX_JOB_BYTES - 9))
    assert refused(tmp_path, frames) == "job bundle too large"
    assert not (root / "in" / "f").exists()


@pytest.mark.parametrize("size", [-1, "1", None])
def test_a_blob_needs_a_size_of_zero_or_more(root: Path, tmp_path: Path, size: object) -> None:
    message = {"type": p.Msg.FILE, "name": "f", "size": size}
    frames = bundle(header(), p.encode_json({k: v for k, v in message.items() if v is not None}))
    assert refused(tmp_path, frames) == "file needs a size"


def test_an_empty_file_is_received(root: Path, tmp_path: Path) -> None:
    job = receive(tmp_path, whole(p.encode_blob({"type": p.Msg.FILE, "name": "e"}, b"")))
    assert job is not None
    assert job.files == ["e"]
    assert (root / "in" / "e").read_bytes() == b""


# -- what is written where -------------------------------------------------


def test_the_files_arrive_read_only_under_their_cleaned_names(root: Path, tmp_path: Path) -> None:
    job = receive(
        tmp_path,
        whole(
            p.encode_blob({"type": p.Msg.FILE, "name": "a/b c/../d"}, b"1" * 300_000),
            p.encode_blob({"type": p.Msg.FILE, "name": "top"}, b"2"),
        ),
    )
    assert job == Job(
        language="python",
        env={},
        limits=DEFAULT_LIMITS,
        key=bytes.fromhex(KEY),
        script_path=f"{root}/script.py",
        files=["a/b_c/d", "top"],
    )
    assert (root / "script.py").read_bytes() == b"print(1)"
    assert (root / "input.json").read_bytes() == b"{}"
    assert (root / "in" / "a" / "b_c" / "d").read_bytes() == b"1" * 300_000
    assert (root / "in" / "top").read_bytes() == b"2"
    modes = {
        path: stat.S_IMODE(os.stat(root / path).st_mode)
        for path in ("in", "in/a", "in/a/b_c", "in/a/b_c/d", "in/top", "script.py")
    }
    assert modes == {
        "in": 0o555,
        "in/a": 0o555,
        "in/a/b_c": 0o555,
        "in/a/b_c/d": 0o444,
        "in/top": 0o444,
        "script.py": 0o444,
    }
    assert stat.S_IMODE(os.stat(root / "out").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(root / "work").st_mode) == 0o755


def test_a_shell_job_gets_a_shell_script(root: Path, tmp_path: Path) -> None:
    job = receive(tmp_path, whole(language="shell", env={"A": "1"}))
    assert job is not None
    assert (job.language, job.env, job.script_path) == ("shell", {"A": "1"}, f"{root}/script.sh")


def test_a_file_is_never_written_through_what_is_already_there(root: Path, tmp_path: Path) -> None:
    twice = p.encode_blob({"type": p.Msg.FILE, "name": "f"}, b"x")
    with pytest.raises(FileExistsError):
        receive(tmp_path, whole(twice, twice))


# -- malformed bundles -----------------------------------------------------


def test_a_host_that_hangs_up_while_idle_sends_no_job(root: Path, tmp_path: Path) -> None:
    assert receive(tmp_path, []) is None


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (whole(v=2), "unsupported protocol version 2"),
        (whole(v=None), "unsupported protocol version None"),
        (whole(language="ruby"), "unknown language 'ruby'"),
        (whole(env={"A": 1}), "env must map strings to strings"),
        (bundle(header(), SCRIPT, INPUT), "host hung up before start"),
        (bundle(header(), INPUT, START), "job bundle lacks script or input"),
        (bundle(header(), SCRIPT, START), "job bundle lacks script or input"),
        (
            whole(p.encode_blob({"type": p.Msg.ARTIFACT}, b"")),
            "unexpected 'artifact' in job bundle",
        ),
        (
            whole(p.encode_blob({"type": "unknown"}, b"")),
            "unexpected 'unknown' in job bundle",
        ),
        (bundle(p.encode(p.KIND_DATA, b"x")), "expected a JSON frame, got kind 68"),
        *(
            (bundle(p.encode(kind, header()[5:])), f"expected a JSON frame, got kind {kind}")
            for kind in (p.KIND_STDOUT, p.KIND_STDERR)
        ),
        (bundle(SCRIPT[0]), "expected 'job', got 'script'"),
        (bundle(INPUT[0]), "expected 'job', got 'input'"),  # a type sorting before job
        (
            bundle(header(), p.encode_json({"type": p.Msg.SCRIPT, "size": 1}), START),
            "blob for {root}/script.py is malformed",
        ),
        (
            bundle(
                header(),
                p.encode_json({"type": p.Msg.SCRIPT, "size": 1}),
                p.encode(p.KIND_DATA, b"xy"),
            ),
            "blob for {root}/script.py is malformed",
        ),
        *(
            (
                bundle(
                    header(),
                    p.encode_json({"type": p.Msg.SCRIPT, "size": 1}),
                    p.encode(kind, b"x"),
                ),
                "blob for {root}/script.py is malformed",
            )
            for kind in (p.KIND_STDOUT, p.KIND_STDERR, p.KIND_JSON)
        ),
    ],
)
def test_a_malformed_bundle_is_refused_with_its_reason(
    root: Path, tmp_path: Path, frames: list[bytes], message: str
) -> None:
    assert refused(tmp_path, frames) == message.format(root=root)
