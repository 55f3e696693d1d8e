"""The runner's artifact budget (sandbox/runner/artifacts.py).

What a script leaves in its output folder goes back to the host only within
the job's artifact count and total byte caps, only as regular files, and only
to a bounded depth; every refusal is reported with its reason. Each cap is
checked one under, at and one over its edge.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from sandbox.runner import protocol as p
from sandbox.runner.artifacts import send_artifacts
from tests.support.runner_local import blobs, point_runner_at, read_frames

MAX_COUNT = 3
MAX_TOTAL = 100
MAX_DEPTH = 8  # folders below out/ whose files are still sent (the runner's own constant)


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    point_runner_at(tmp_path / "job", monkeypatch)
    (tmp_path / "job" / "out").mkdir(parents=True)
    return tmp_path / "job" / "out"


@pytest.fixture
def stream(tmp_path: Path) -> Path:
    """Where the runner's frames go."""
    return tmp_path / "stream"


def send(
    stream: Path, max_count: int = MAX_COUNT, max_total: int = MAX_TOTAL
) -> tuple[dict[str, bytes], list[str]]:
    """Run the runner's artifact sending; the artifacts it framed and its refusals."""
    limits = {"artifact_max_count": float(max_count), "artifact_max_total_bytes": float(max_total)}
    fd = os.open(stream, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        rejected = send_artifacts(p.FdFrameWriter(fd), limits)
    finally:
        os.close(fd)
    sent = {}
    for header, data in blobs(read_frames(stream)):
        assert header["type"] == p.Msg.ARTIFACT
        assert header["size"] == len(data)
        sent[str(header["name"])] = data
    return sent, rejected


def files(out: Path, sizes: dict[str, int]) -> None:
    for name, size in sizes.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(name[0].encode() * size)


# -- the count cap ---------------------------------------------------------


@pytest.mark.parametrize("count", [MAX_COUNT - 1, MAX_COUNT])
def test_artifacts_up_to_the_count_cap_are_all_sent(out: Path, stream: Path, count: int) -> None:
    files(out, {f"f{i}": 1 for i in range(count)})
    sent, rejected = send(stream)
    assert sent == {f"f{i}": b"f" for i in range(count)}
    assert rejected == []


def test_the_artifact_over_the_count_cap_is_refused_by_name(out: Path, stream: Path) -> None:
    files(out, {f"f{i}": 1 for i in range(MAX_COUNT + 1)})
    sent, rejected = send(stream)
    assert sorted(sent) == [f"f{i}" for i in range(MAX_COUNT)]
    assert rejected == [f"f{MAX_COUNT} (more than {MAX_COUNT} artifacts)"]


@pytest.mark.parametrize("cap", [0, -1])
def test_a_count_cap_of_zero_or_less_sends_nothing(out: Path, stream: Path, cap: int) -> None:
    files(out, {"a": 1})
    assert send(stream, max_count=cap) == ({}, [f"a (more than {cap} artifacts)"])


# -- the total byte cap ----------------------------------------------------


@pytest.mark.parametrize("last", [MAX_TOTAL - 61, MAX_TOTAL - 60])
def test_artifacts_up_to_the_total_cap_are_all_sent(out: Path, stream: Path, last: int) -> None:
    files(out, {"a": 60, "b": last})
    sent, rejected = send(stream)
    assert sent == {"a": b"a" * 60, "b": b"b" * last}
    assert rejected == []


def test_the_artifact_that_crosses_the_total_cap_is_refused_and_later_ones_still_fit(
    out: Path, stream: Path
) -> None:
    files(out, {"a": 60, "b": MAX_TOTAL - 59, "c": MAX_TOTAL - 60})
    sent, rejected = send(stream)
    assert sent == {"a": b"a" * 60, "c": b"c" * (MAX_TOTAL - 60)}
    assert rejected == [f"b (artifacts over {MAX_TOTAL} bytes in total)"]


@pytest.mark.parametrize("size", [MAX_TOTAL - 1, MAX_TOTAL, MAX_TOTAL + 1])
def test_one_artifact_at_the_total_cap(out: Path, stream: Path, size: int) -> None:
    files(out, {"a": size})
    sent, rejected = send(stream)
    if size <= MAX_TOTAL:
        assert (sent, rejected) == ({"a": b"a" * size}, [])
    else:
        assert (sent, rejected) == ({}, [f"a (artifacts over {MAX_TOTAL} bytes in total)"])


def test_empty_artifacts_count_against_the_count_cap_only(out: Path, stream: Path) -> None:
    files(out, {"a": 0, "b": MAX_TOTAL, "c": 0, "d": 0})
    sent, rejected = send(stream)
    assert sent == {"a": b"", "b": b"b" * MAX_TOTAL, "c": b""}
    assert rejected == [f"d (more than {MAX_COUNT} artifacts)"]


def test_an_artifact_larger_than_a_read_is_sent_whole(out: Path, stream: Path) -> None:
    data = os.urandom(300_000)
    (out / "big").write_bytes(data)
    assert send(stream, max_total=300_000) == ({"big": data}, [])


# -- folders ---------------------------------------------------------------


def test_artifacts_in_folders_keep_their_relative_names_in_sorted_order(
    out: Path, stream: Path
) -> None:
    files(out, {"b/x": 1, "a": 1, "b/c/y": 1, "c d": 1})
    sent, rejected = send(stream, max_count=10)
    assert list(sent) == ["a", "b/c/y", "b/x", "c_d"]
    assert rejected == []


def test_the_caps_hold_across_folders(out: Path, stream: Path) -> None:
    files(out, {"a/1": 40, "b/2": 40, "b/c/3": 30, "d/4": 1, "e/5": 1})
    sent, rejected = send(stream)
    assert sorted(sent) == ["a/1", "b/2", "d/4"]
    assert rejected == [
        f"b/c/3 (artifacts over {MAX_TOTAL} bytes in total)",
        f"e/5 (more than {MAX_COUNT} artifacts)",
    ]


def nested(depth: int) -> str:
    return "/".join(f"d{i}" for i in range(1, depth + 1))


def test_artifacts_down_to_the_depth_cap_are_sent(out: Path, stream: Path) -> None:
    files(out, {f"{nested(MAX_DEPTH)}/f": 1})
    assert send(stream) == ({f"{nested(MAX_DEPTH)}/f": b"d"}, [])


def test_a_folder_one_below_the_depth_cap_is_refused(out: Path, stream: Path) -> None:
    files(out, {f"{nested(MAX_DEPTH)}/f": 1, f"{nested(MAX_DEPTH + 1)}/g": 1})
    sent, rejected = send(stream)
    assert sent == {f"{nested(MAX_DEPTH)}/f": b"d"}
    assert rejected == [f"{nested(MAX_DEPTH + 1)}/ (nested too deep)"]


# -- what is not a regular file -------------------------------------------


def test_special_files_are_refused_by_kind_and_never_opened(out: Path, stream: Path) -> None:
    (out / "target").mkdir()
    (out / "target" / "secret").write_bytes(b"s")
    (out / "link").symlink_to(out / "target" / "secret")
    (out / "dirlink").symlink_to(out / "target")
    os.mkfifo(out / "fifo")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(out / "sock"))
        sent, rejected = send(stream)
    assert sent == {"target/secret": b"s"}
    assert rejected == ["dirlink (symlink)", "fifo (fifo)", "link (symlink)", "sock (socket)"]


@pytest.mark.parametrize("kind", [stat.S_IFCHR, stat.S_IFBLK])
def test_devices_are_refused(out: Path, stream: Path, kind: int) -> None:
    try:
        os.mknod(out / "dev", kind | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs CAP_MKNOD")
    assert send(stream) == ({}, ["dev (device)"])


def test_no_output_folder_is_reported(out: Path, stream: Path) -> None:
    out.rmdir()
    assert send(stream) == ({}, ["out (not a directory)"])


def test_an_output_folder_that_is_a_symlink_is_not_followed(out: Path, stream: Path) -> None:
    out.rmdir()
    elsewhere = out.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "f").write_bytes(b"x")
    out.symlink_to(elsewhere)
    assert send(stream) == ({}, ["out (not a directory)"])
