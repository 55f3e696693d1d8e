"""The in-container runner's code, run on the host against a temp directory.

The runner keeps its job in ``/job``, a tmpfs of the sandbox image; its
modules name those paths as module constants. Pointing the constants at a
temp directory lets unit tests drive the runner's real functions (the
verdict, the artifact budget, the job bundle, the stream pump) with real
files and descriptors, without an image rebuild per change, which is what
mutation testing of the runner needs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox import protocol as p
from sandbox import runner_artifacts, runner_child, runner_job, runner_verdict

JOB_PATH_NAMES = ("IN_DIR", "OUT_DIR", "WORK_DIR", "INPUT_PATH", "RESULT_PATH")


def point_runner_at(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every runner module's job paths now lie under ``root``."""
    paths = {
        "JOB_ROOT": str(root),
        "IN_DIR": str(root / "in"),
        "OUT_DIR": str(root / "out"),
        "WORK_DIR": str(root / "work"),
        "INPUT_PATH": str(root / "input.json"),
        "RESULT_PATH": str(root / "result.json"),
    }
    for module in (runner_job, runner_child, runner_verdict, runner_artifacts):
        for name, value in paths.items():
            if hasattr(module, name):
                monkeypatch.setattr(module, name, value)


def read_frames(path: Path) -> list[p.Frame]:
    """Every frame written to the file at ``path``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = p.FdFrameReader(fd)
        frames = []
        while (frame := reader.read()) is not None:
            frames.append(frame)
        return frames
    finally:
        os.close(fd)


def blobs(frames: list[p.Frame]) -> list[tuple[dict[str, object], bytes]]:
    """(header, data) of each blob in a frame list (JSON header, then D frames)."""
    found: list[tuple[dict[str, object], bytes]] = []
    for frame in frames:
        if frame.kind == p.KIND_JSON:
            found.append((p.decode_json(frame.payload), b""))
        elif frame.kind == p.KIND_DATA:
            header, data = found[-1]
            found[-1] = (header, data + frame.payload)
    return found
