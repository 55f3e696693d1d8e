"""A tiny PEP 503 package index on disk (a file:// URL pip reads offline),
with wheels made here: only their metadata matters to the resolver."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path


def wheel(
    into: Path,
    name: str,
    version: str,
    requires: tuple[str, ...] = (),
    pad: int = 0,
    members: tuple[str, ...] = (),
) -> Path:
    """A pure-Python wheel; `pad` bytes of stored data make it large, and
    `members` are further (empty) files by the names given, however unsafe."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = into / f"{dist}-py3-none-any.whl"
    metadata = "".join(
        [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
        + [f"Requires-Dist: {r}\n" for r in requires]
    )
    files = {
        f"{name.replace('-', '_')}/__init__.py": b"x = " + b"0" * pad + b"\n",
        f"{dist}.dist-info/METADATA": metadata.encode(),
        f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        **{member: b"" for member in members},
    }
    record = "".join(f"{n},,\n" for n in files) + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist}.dist-info/RECORD", record)
    return path


def index(root: Path, wheels: list[Path]) -> str:
    """Writes root/simple/<project>/index.html for the wheels; the index URL."""
    by_project: dict[str, list[Path]] = {}
    for path in wheels:
        by_project.setdefault(path.name.split("-")[0].replace("_", "-"), []).append(path)
    for project, paths in by_project.items():
        page = root / "simple" / project
        page.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="{p.as_uri()}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">'
            f"{p.name}</a>\n"
            for p in paths
        )
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return (root / "simple").as_uri()
