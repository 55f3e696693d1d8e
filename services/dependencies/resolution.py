"""Resolving and downloading wheels on the host, with pip: a declared set
becomes exact pins (one wheel file each), and pins become files again.

``pip download --only-binary=:all:`` with the sandbox's interpreter and
platform (``--python-version 3.11 --implementation cp --abi cp311 --abi abi3
--abi none --platform manylinux_2_36_x86_64 ... linux_x86_64``): pip's
resolver sees only wheels, so nothing is ever built and no package code runs
on the host; pip reads metadata and fetches files, nothing more. Wheels of a
rebuild are fetched again by exact pin with ``--require-hashes``.

pip runs with a clean environment (no pip.conf, no PIP_* variables but the
certificate and proxy ones) and an explicit ``--index-url``, so what it
resolves depends on this configuration alone. When pip finds nothing, the
index's simple API tells which case it is: no such project or version
(DEPENDENCY_NOT_FOUND) or only source distributions / wheels for other
platforms (DEPENDENCY_NO_WHEEL).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging import tags
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from sandbox import Runtime
from services.dependencies.config import DependencyConfig
from services.dependencies.failures import DependencyFailure

log = logging.getLogger(__name__)

INDEX_TIMEOUT_SECONDS = 20.0
WATCH_SECONDS = 0.25
PASSED_ENV = (
    "PATH",
    "PIP_CERT",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
_NO_MATCH = re.compile(r"No matching distribution found for (?P<req>\S.*?)\s*$", re.M)
_UNREACHABLE = (
    "Could not fetch URL",
    "NewConnectionError",
    "Max retries exceeded",
    "ConnectTimeout",
    "ReadTimeoutError",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    file: str
    sha256: str
    size: int

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "file": self.file,
            "sha256": self.sha256,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Pin:
        return cls(
            str(value["name"]),
            str(value["version"]),
            str(value["file"]),
            str(value["sha256"]),
            int(value["size"]),
        )


def env_hash(pins: list[Pin], runtime: Runtime) -> str:
    """The key of an installed environment: the exact files, and the runtime."""
    lines = [runtime.tag, *sorted(f"{p.name}=={p.version} {p.file} {p.sha256}" for p in pins)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def supported_tags(runtime: Runtime) -> set[tags.Tag]:
    platforms = runtime.platforms()
    found = set(tags.cpython_tags(runtime.python, abis=runtime.abis(), platforms=platforms))
    found |= set(tags.compatible_tags(runtime.python, interpreter=runtime.abi, platforms=platforms))
    return found


class Resolver:
    def __init__(self, config: DependencyConfig) -> None:
        self.config = config

    async def resolve(self, requirements: list[str], runtime: Runtime, into: Path) -> list[Pin]:
        """Resolve and download wheels for ``requirements`` into ``into``."""
        lines = "\n".join(requirements) + "\n"
        await self._pip_download(lines, runtime, into, ())
        return self._pins(into, runtime)

    async def download(self, pins: list[Pin], runtime: Runtime, into: Path) -> list[Pin]:
        """Fetch exactly these files again (a rebuild), checked by hash."""
        lines = "".join(f"{p.name}=={p.version} --hash=sha256:{p.sha256}\n" for p in pins)
        await self._pip_download(lines, runtime, into, ("--no-deps", "--require-hashes"))
        got = {p.file: p for p in self._pins(into, runtime)}
        missing = [p.file for p in pins if p.file not in got]
        if missing:
            raise DependencyFailure(
                "DEPENDENCY_RESOLUTION_FAILED", f"the pinned files changed: {', '.join(missing)}"
            )
        return [got[p.file] for p in pins]

    def command(self, runtime: Runtime, requirements_file: Path, dest: Path) -> list[str]:
        args = [
            *self.config.pip_command,
            "download",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar=off",
            "--only-binary=:all:",
            f"--python-version={runtime.python_version}",
            "--implementation=cp",
            *(f"--abi={abi}" for abi in runtime.abis()),
            *(f"--platform={platform}" for platform in runtime.platforms()),
            f"--index-url={self.config.index_url}",
            f"--cache-dir={self.config.pip_cache_dir}",
            "--timeout=30",
            "--retries=2",
            f"--dest={dest}",
            "--requirement",
            str(requirements_file),
        ]
        return args

    async def _pip_download(
        self, lines: str, runtime: Runtime, into: Path, extra: tuple[str, ...]
    ) -> None:
        tmp, dest, requirements_file = _lay_out(into, lines)
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.update(
            {
                "PIP_CONFIG_FILE": os.devnull,  # no pip.conf: no other index, no find-links
                "HOME": str(into),
                "TMPDIR": str(tmp),
                "PYTHONDONTWRITEBYTECODE": "1",
                "LC_ALL": "C.UTF-8",
            }
        )
        command = [*self.command(runtime, requirements_file, dest), *extra]
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=str(into),
            )
        except OSError as exc:
            raise DependencyFailure(
                "DEPENDENCY_RESOLUTION_FAILED", f"cannot start pip ({command[0]}): {exc}"
            ) from None
        reading = asyncio.ensure_future(_read_all(process))
        try:
            await self._watch(process, reading, into)
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        output = (await reading).decode(errors="replace")
        if process.returncode != 0:
            if "No module named pip" in output:
                raise DependencyFailure(
                    "DEPENDENCY_RESOLUTION_FAILED", "pip is not installed beside the service"
                )
            raise await self._classify(output, runtime)

    async def _watch(
        self, process: asyncio.subprocess.Process, reading: asyncio.Future[bytes], into: Path
    ) -> None:
        """Wait for pip; kill it past the time or download-size limits."""
        deadline = asyncio.get_running_loop().time() + self.config.resolve_timeout_seconds
        cap = self.config.max_download_bytes
        while process.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(process.wait()), WATCH_SECONDS)
            if process.returncode is not None:
                break
            if asyncio.get_running_loop().time() > deadline:
                raise DependencyFailure(
                    "DEPENDENCY_TIMEOUT",
                    f"resolving took longer than {self.config.resolve_timeout_seconds:g} s",
                )
            # pip writes each file into TMPDIR while fetching, then into dest.
            if await asyncio.to_thread(_tree_bytes, into) > 2 * cap:
                raise DependencyFailure(
                    "DEPENDENCY_TOO_LARGE", f"the wheels are larger than {cap} bytes"
                )

    def _pins(self, into: Path, runtime: Runtime) -> list[Pin]:
        supported = supported_tags(runtime)
        pins = []
        for path in sorted((into / "wheels").iterdir()):
            try:
                name, version, _build, wheel_tags = parse_wheel_filename(path.name)
            except InvalidWheelFilename:
                raise DependencyFailure(
                    "DEPENDENCY_NO_WHEEL", f"{path.name} is not a wheel"
                ) from None
            if not wheel_tags & supported:
                raise DependencyFailure(
                    "DEPENDENCY_NO_WHEEL", f"{path.name} does not fit the sandbox ({runtime.tag})"
                )
            data = path.read_bytes()
            pins.append(
                Pin(str(name), str(version), path.name, hashlib.sha256(data).hexdigest(), len(data))
            )
        total = sum(p.size for p in pins)
        if total > self.config.max_download_bytes:
            raise DependencyFailure(
                "DEPENDENCY_TOO_LARGE",
                f"the wheels are {total} bytes; at most {self.config.max_download_bytes} allowed",
            )
        if not pins:
            raise DependencyFailure("DEPENDENCY_RESOLUTION_FAILED", "pip downloaded nothing")
        return sorted(pins, key=lambda p: p.name)

    async def _classify(self, output: str, runtime: Runtime) -> DependencyFailure:
        errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
        summary = "\n".join(errors[-5:]) or output.strip()[-1500:]
        match = _NO_MATCH.search(output)
        if match is not None:
            try:
                requirement = Requirement(match.group("req"))
            except InvalidRequirement:
                requirement = None
            if requirement is not None:
                try:
                    return await self._explain_no_match(requirement, runtime)
                except (OSError, ValueError) as exc:
                    log.warning("cannot ask the index about %s: %s", requirement.name, exc)
                    if any(marker in output for marker in _UNREACHABLE):
                        return DependencyFailure(
                            "DEPENDENCY_INDEX_UNAVAILABLE",
                            f"the package index cannot be reached: {summary}",
                        )
            return DependencyFailure("DEPENDENCY_NOT_FOUND", summary)
        if "ResolutionImpossible" in output or "conflicting dependencies" in output:
            return DependencyFailure("DEPENDENCY_CONFLICT", summary)
        if any(marker in output for marker in _UNREACHABLE):
            return DependencyFailure(
                "DEPENDENCY_INDEX_UNAVAILABLE", f"the package index cannot be reached: {summary}"
            )
        if "THESE PACKAGES DO NOT MATCH THE HASHES" in output:
            return DependencyFailure(
                "DEPENDENCY_RESOLUTION_FAILED", f"a pinned file changed on the index: {summary}"
            )
        return DependencyFailure("DEPENDENCY_RESOLUTION_FAILED", summary)

    async def _explain_no_match(
        self, requirement: Requirement, runtime: Runtime
    ) -> DependencyFailure:
        name = canonicalize_name(requirement.name)
        files = await asyncio.to_thread(self._index_files, name)
        if files is None:
            return DependencyFailure(
                "DEPENDENCY_NOT_FOUND",
                f"there is no package named '{requirement.name}' on the package index",
            )
        supported = supported_tags(runtime)
        matching: set[Version] = set()
        installable: set[Version] = set()
        for filename, yanked in files:
            version, wheel_tags = _version_of(filename)
            if version is None or yanked:
                continue
            if requirement.specifier.contains(version, prereleases=True):
                matching.add(version)
                if wheel_tags & supported:
                    installable.add(version)
        wanted = f"{requirement.name}{requirement.specifier}"
        if not matching:
            return DependencyFailure(
                "DEPENDENCY_NOT_FOUND", f"no release of '{requirement.name}' matches '{wanted}'"
            )
        if not installable:
            return DependencyFailure(
                "DEPENDENCY_NO_WHEEL",
                f"'{wanted}' has no wheel for the sandbox (CPython {runtime.python_version}, "
                f"Linux {runtime.arch}, glibc {runtime.glibc[0]}.{runtime.glibc[1]}): only "
                "source distributions or wheels for other platforms are published, and "
                "Scriptbox installs wheels only, never building from source",
            )
        return DependencyFailure(
            "DEPENDENCY_NO_WHEEL",
            f"'{wanted}' has wheels, but none that pip could use here "
            f"(check requires-python and markers) for CPython {runtime.python_version}",
        )

    def _index_files(self, name: str) -> list[tuple[str, bool]] | None:
        """(filename, yanked) of every file of a project; None when there is none."""
        url = f"{self.config.index_url.rstrip('/')}/{name}/"
        if url.startswith("file:"):
            # An index on disk serves a project's page as its folder's
            # index.html, as pip reads it; urllib cannot open the folder.
            url += "index.html"
        request = urllib.request.Request(
            url,
            headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"},
        )
        try:
            with urllib.request.urlopen(request, timeout=INDEX_TIMEOUT_SECONDS) as response:
                body = response.read(32 * 2**20)
                content_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise OSError(f"the index answered {exc.code}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, FileNotFoundError):
                return None  # no such project on an index on disk
            raise
        if "json" in content_type:
            data = json.loads(body)
            return [(str(f["filename"]), bool(f.get("yanked"))) for f in data.get("files", [])]
        # PEP 503 HTML: one anchor per file.
        html = body.decode(errors="replace")
        return [
            (m.group(2).strip(), "data-yanked" in m.group(1))
            for m in re.finditer(r"<a([^>]*)>([^<]+)</a>", html)
        ]


def _version_of(filename: str) -> tuple[Version | None, frozenset[tags.Tag]]:
    if filename.endswith(".whl"):
        try:
            _name, version, _build, wheel_tags = parse_wheel_filename(filename)
            return version, wheel_tags
        except InvalidWheelFilename:
            return None, frozenset()
    try:
        _name, version = parse_sdist_filename(filename)
        return version, frozenset()
    except InvalidSdistFilename:
        return None, frozenset()


async def _read_all(process: asyncio.subprocess.Process) -> bytes:
    assert process.stdout is not None
    chunks = []
    total = 0
    while True:
        block = await process.stdout.read(65536)
        if not block:
            break
        total += len(block)
        chunks.append(block)
        while total > 256 * 1024 and len(chunks) > 1:  # keep the tail
            total -= len(chunks.pop(0))
    return b"".join(chunks)


def _lay_out(into: Path, lines: str) -> tuple[Path, Path, Path]:
    """pip's TMPDIR, its destination and its requirements file, under ``into``."""
    tmp, dest, requirements_file = into / "tmp", into / "wheels", into / "requirements.txt"
    for folder in (into, tmp, dest):
        folder.mkdir(parents=True, exist_ok=True)
    requirements_file.write_text(lines)
    return tmp, dest, requirements_file


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total
