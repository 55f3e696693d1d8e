"""In-container: install downloaded wheels into a dependency environment.

Sent by the host as the script of one sandbox job (program mode, so it must
not define a top-level ``main``); the wheels arrive as the job's input files
under /job/in/, the environment volume is mounted read-write at
$SCRIPTBOX_ENV_DIR. Stdlib only (Debian bookworm's Python 3.11, no pip).

Installing a wheel is unzipping it: no code from the wheels runs. Every
member name is checked (no absolute paths, no "..", no symlinks, nothing
outside the environment), sizes and counts are capped while extracting, the
installed tree is byte-compiled (compiling does not execute), and
``manifest.json`` is written last: an environment without it is incomplete.

Input (JSON on stdin): {"hash", "wheels": [{"file", "sha256"}], "max_bytes",
"max_files"}. Result ($SCRIPTBOX_RESULT): {"hash", "bytes", "files"}. Any
problem: a message on stderr and exit status 1.
"""

from __future__ import annotations

import compileall
import hashlib
import json
import os
import stat
import sys
import zipfile

IN_DIR = os.environ.get("SCRIPTBOX_INPUT_DIR", "/job/in")
CHUNK = 256 * 1024


class Refused(Exception):
    pass


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def destination(member: str, data_prefix: str) -> str | None:
    """Where a wheel member goes, relative to site/; None to skip it."""
    if "\\" in member or member.startswith("/") or "\0" in member:
        raise Refused(f"unsafe member name {member!r}")
    parts = [p for p in member.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise Refused(f"unsafe member name {member!r}")
    if parts[0] == data_prefix:
        # <name>-<version>.data/<scheme>/...: library code goes beside the
        # rest; scripts, headers and data files are not installed.
        if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            return "/".join(parts[2:])
        return None
    return "/".join(parts)


def install_wheel(path: str, site: str, budget: dict[str, int]) -> None:
    name = os.path.basename(path)
    dist = name.split("-")
    if len(dist) < 5 or not name.endswith(".whl"):
        raise Refused(f"{name} is not a wheel file name")
    data_prefix = f"{dist[0]}-{dist[1]}.data"
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise Refused(f"{name}: symbolic link {info.filename!r}")
            target = destination(info.filename, data_prefix)
            if target is None:
                continue
            budget["files"] -= 1
            if budget["files"] < 0:
                raise Refused("the environment has too many files")
            full = os.path.join(site, target)
            if os.path.commonpath([full, site]) != site:
                raise Refused(f"{name}: {info.filename!r} leaves the environment")
            os.makedirs(os.path.dirname(full), mode=0o755, exist_ok=True)
            executable = bool(mode & 0o111)
            copy_member(archive, info, full, 0o755 if executable else 0o644, budget)


def copy_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, full: str, mode: int, budget: dict[str, int]
) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(full, flags, mode)
    try:
        with archive.open(info) as source:
            while True:
                block = source.read(CHUNK)
                if not block:
                    break
                budget["bytes"] -= len(block)
                if budget["bytes"] < 0:
                    raise Refused("the environment is larger than allowed")
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def tree_size(root: str) -> tuple[int, int]:
    total = files = 0
    for folder, _dirs, names in os.walk(root):
        for entry in names:
            info = os.lstat(os.path.join(folder, entry))
            total += info.st_size
            files += 1
    return total, files


def install() -> int:
    job = json.load(sys.stdin)
    env_dir = os.environ["SCRIPTBOX_ENV_DIR"]
    if os.listdir(env_dir):
        raise Refused("the environment volume is not empty")
    site = os.path.join(env_dir, "site")
    os.makedirs(site, mode=0o755)
    budget = {"bytes": int(job["max_bytes"]), "files": int(job["max_files"])}
    for wheel in job["wheels"]:
        path = os.path.join(IN_DIR, wheel["file"])
        if sha256_of(path) != wheel["sha256"]:
            raise Refused(f"{wheel['file']} does not match its pinned sha256")
        install_wheel(path, site, budget)
    # Runs mount the environment read-only, so bytecode is written now, once.
    compileall.compile_dir(site, quiet=2, workers=1)
    size, files = tree_size(env_dir)
    if size > int(job["max_bytes"]) * 2:  # sources are capped above; bytecode adds some
        raise Refused("the environment is larger than allowed")
    manifest = {"hash": job["hash"], "wheels": job["wheels"], "bytes": size, "files": files}
    partial = os.path.join(env_dir, ".manifest.partial")
    with open(partial, "w") as f:
        json.dump(manifest, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(partial, os.path.join(env_dir, "manifest.json"))  # last: marks it complete
    with open(os.environ["SCRIPTBOX_RESULT"], "w") as f:
        json.dump({"hash": job["hash"], "bytes": size, "files": files}, f)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(install())
    except (Refused, OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        print(f"install failed: {exc}", file=sys.stderr)
        sys.exit(1)
