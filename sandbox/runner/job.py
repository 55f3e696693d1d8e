"""In-container: the job as the runner receives it, and where its files live.

Part of the runner (stdlib only, runs under the image's Python 3.11).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from sandbox.runner import protocol as p

JOB_ROOT = "/job"  # a size-capped tmpfs, the only writable place besides /tmp
IN_DIR = f"{JOB_ROOT}/in"
OUT_DIR = f"{JOB_ROOT}/out"
WORK_DIR = f"{JOB_ROOT}/work"
# The scripts the job imports, at their paths in the owner's tree
# ($SCRIPTBOX_LIB): read-only, like the script itself.
LIB_DIR = f"{JOB_ROOT}/lib"
INPUT_PATH = f"{JOB_ROOT}/input.json"
RESULT_PATH = f"{JOB_ROOT}/result.json"

# The languages the runner knows, and the suffix of the file each is run from.
# A JavaScript file may be either kind of module: its harness tells them apart.
SCRIPT_SUFFIX = {"python": "py", "shell": "sh", "javascript": "js"}

MAX_JOB_BYTES = 512 * 2**20  # the host never sends more; guards a confused host

DEFAULT_LIMITS: dict[str, float] = {
    "timeout_seconds": 30.0,
    "output_bytes_per_stream": 2**20,
    "result_bytes": 2**20,
    "artifact_max_count": 32,
    "artifact_max_total_bytes": 16 * 2**20,
}


def diag(message: str) -> None:
    """Runner diagnostics go to the container's stderr, never into frames."""
    print(f"scriptbox-runner: {message}", file=sys.stderr, flush=True)


@dataclass
class Job:
    language: str
    env: dict[str, str]
    limits: dict[str, float]
    key: bytes  # authenticates the runner's stream (protocol.StreamMac)
    script_path: str = ""
    files: list[str] = field(default_factory=list)
    # Folders of LIB_DIR that Python searches first, in order (the script's
    # folder, then the tree's top); empty when the job imports nothing.
    import_path: list[str] = field(default_factory=list)
    # A service answering HTTP: $PORT is set and the runner bridges the
    # host's socket to it (http_bridge.py).
    http: bool = False


def receive_job(reader: p.FdFrameReader) -> Job | None:
    """Read the bundle up to ``start``. None when the host hung up while idle."""
    frame = reader.read()
    if frame is None:
        return None
    header = _expect_json(frame, p.Msg.JOB)
    if header.get("v") != p.VERSION:
        raise p.ProtocolError(f"unsupported protocol version {header.get('v')!r}")
    language = header.get("language")
    if language not in SCRIPT_SUFFIX:
        raise p.ProtocolError(f"unknown language {language!r}")
    env = header.get("env") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise p.ProtocolError("env must map strings to strings")
    limits = dict(DEFAULT_LIMITS)
    limits.update({k: float(v) for k, v in (header.get("limits") or {}).items()})
    key = bytes.fromhex(str(header.get("key", "")))
    if len(key) < 16:
        raise p.ProtocolError("job lacks a stream key")
    http = header.get("http", False)
    if not isinstance(http, bool):
        raise p.ProtocolError("http must be true or false")
    job = Job(language=language, env=env, limits=limits, key=key, http=http)
    import_path = header.get("import_path") or []
    if not isinstance(import_path, list) or not all(isinstance(d, str) for d in import_path):
        raise p.ProtocolError("import_path must be a list of folder names")
    job.import_path = [
        os.path.join(LIB_DIR, p.sanitize_name(d)) if d else LIB_DIR for d in import_path
    ]
    main_path = header.get("main_path") or ""
    if not isinstance(main_path, str):
        raise p.ProtocolError("main_path must be a path")

    for directory in (IN_DIR, OUT_DIR, WORK_DIR, LIB_DIR):
        os.makedirs(directory, mode=0o755, exist_ok=True)
    received = 0
    while True:
        frame = reader.read()
        if frame is None:
            raise p.ProtocolError("host hung up before start")
        message = _expect_json(frame, None)
        kind = message["type"]
        if kind == p.Msg.START:
            break
        size = message.get("size")
        if not isinstance(size, int) or size < 0:
            raise p.ProtocolError(f"{kind} needs a size")
        received += size
        if received > MAX_JOB_BYTES:
            raise p.ProtocolError("job bundle too large")
        if kind == p.Msg.SCRIPT:
            if main_path:
                job.script_path = os.path.join(LIB_DIR, p.sanitize_name(main_path))
                os.makedirs(os.path.dirname(job.script_path), mode=0o755, exist_ok=True)
            else:
                job.script_path = f"{JOB_ROOT}/script.{SCRIPT_SUFFIX[language]}"
            path = job.script_path
        elif kind == p.Msg.INPUT:
            path = INPUT_PATH
        elif kind == p.Msg.FILE:
            name = p.sanitize_name(str(message.get("name", "")))
            path = os.path.join(IN_DIR, name)
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            job.files.append(name)
        elif kind == p.Msg.LIB:
            path = os.path.join(LIB_DIR, p.sanitize_name(str(message.get("name", ""))))
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        else:
            raise p.ProtocolError(f"unexpected {kind!r} in job bundle")
        _receive_blob(reader, path, size)

    if not job.script_path or not os.path.exists(INPUT_PATH):
        raise p.ProtocolError("job bundle lacks script or input")
    # Input files and imported scripts are read-only to the script. It could chmod them back,
    # being their owner: this guards against mistakes, and the tmpfs is thrown
    # away with the container anyway.
    for directory in (IN_DIR, LIB_DIR):
        _make_read_only(directory)
    return job


def _make_read_only(directory: str) -> None:
    for root, dirs, _files in os.walk(directory, topdown=False):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o555)
    os.chmod(directory, 0o555)


def _expect_json(frame: p.Frame, message_type: str | None) -> dict[str, Any]:
    if frame.kind != p.KIND_JSON:
        raise p.ProtocolError(f"expected a JSON frame, got kind {frame.kind}")
    message = p.decode_json(frame.payload)
    if message_type is not None and message["type"] != message_type:
        raise p.ProtocolError(f"expected {message_type!r}, got {message['type']!r}")
    return message


def _receive_blob(reader: p.FdFrameReader, path: str, size: int) -> None:
    # O_EXCL|O_NOFOLLOW: never write through something already there.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o444)
    try:
        remaining = size
        while remaining:
            frame = reader.read()
            if frame is None or frame.kind != p.KIND_DATA or len(frame.payload) > remaining:
                raise p.ProtocolError(f"blob for {path} is malformed")
            p.write_all(fd, frame.payload)
            remaining -= len(frame.payload)
    finally:
        os.close(fd)
