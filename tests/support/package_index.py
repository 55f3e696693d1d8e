"""Package indexes of the tests' own, so no test reaches the internet.

`wheel` and `sdist` make distributions here; `index` writes PEP 503 pages
for them (a file:// URL pip reads offline). `suite_index` is the one index
the suite's services use by default: the projects the dependency tests
name (six, idna, attrs, packaging with working module source, docopt as
source only), served over HTTP on 127.0.0.1, since the service explains a
failed resolution by asking the index's simple API over HTTP.
`refuse_remote_index` is the guard the test settings and the `scriptbox`
processes pass every index URL through.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import tarfile
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename


def wheel(
    into: Path,
    name: str,
    version: str,
    requires: tuple[str, ...] = (),
    pad: int = 0,
    members: tuple[str, ...] = (),
    modules: dict[str, str] | None = None,
    tag: str = "py3-none-any",
) -> Path:
    """A pure-Python wheel. `modules` (member name: source) are its code;
    without them, a package of its name whose `__init__.py` holds `pad`
    bytes of stored data (a large wheel). `members` are further (empty)
    files by the names given, however unsafe."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = into / f"{dist}-{tag}.whl"
    metadata = "".join(
        [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
        + [f"Requires-Dist: {r}\n" for r in requires]
    )
    code = (
        {m: source.encode() for m, source in modules.items()}
        if modules is not None
        else {f"{name.replace('-', '_')}/__init__.py": b"x = " + b"0" * pad + b"\n"}
    )
    files = {
        **code,
        f"{dist}.dist-info/METADATA": metadata.encode(),
        f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\n"
        + f"Root-Is-Purelib: true\nTag: {tag}\n".encode(),
        **{member: b"" for member in members},
    }
    record = "".join(f"{n},,\n" for n in files) + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist}.dist-info/RECORD", record)
    return path


def sdist(into: Path, name: str, version: str, modules: dict[str, str]) -> Path:
    """A source distribution (.tar.gz) of `modules`: what a project that
    publishes no wheel offers, which the service never builds."""
    dist = f"{name}-{version}"
    path = into / f"{dist}.tar.gz"
    files = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "setup.py": f"from setuptools import setup\nsetup(name={name!r}, version={version!r})\n",
        **modules,
    }
    with tarfile.open(path, "w:gz") as archive:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{dist}/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _project(path: Path) -> str:
    if path.name.endswith(".whl"):
        return str(parse_wheel_filename(path.name)[0])
    return str(parse_sdist_filename(path.name)[0])


def index(root: Path, files: list[Path]) -> str:
    """Writes root/simple/<project>/index.html for the distributions; the
    index URL (file://). A file under `root` is linked by a relative path,
    so the same pages serve over HTTP; any other by its file:// URL."""
    by_project: dict[str, list[Path]] = {}
    for path in files:
        by_project.setdefault(canonicalize_name(_project(path)), []).append(path)
    for project, paths in by_project.items():
        page = root / "simple" / project
        page.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="{_href(p, page, root)}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">'
            f"{p.name}</a>\n"
            for p in paths
        )
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return (root / "simple").as_uri()


def _href(path: Path, page: Path, root: Path) -> str:
    if path.resolve().is_relative_to(root.resolve()):
        return urllib.parse.quote(os.path.relpath(path, page))
    return path.as_uri()


# The projects of the suite index. Each carries enough working source for
# what the tests run: six's version, idna's encoding (the standard library's
# IDNA codec), packaging's version comparison, attrs' version.
SIX_VERSIONS = ("1.12.0", "1.13.0", "1.14.0", "1.15.0", "1.16.0", "1.17.0")
IDNA = "3.10"
ATTRS = "24.2.0"
PACKAGING = "24.2"
# Published as a source distribution only: no wheel to install.
SDIST_ONLY = ("docopt", "0.6.2")

_IDNA_SOURCE = f'''"""Internationalized domain names in applications."""

__version__ = "{IDNA}"


def encode(label: str) -> bytes:
    return label.encode("idna")
'''
_PACKAGING_VERSION_SOURCE = '''"""Release versions, compared part by part."""


class Version:
    def __init__(self, text: str) -> None:
        self.parts = tuple(int(part) for part in text.split("."))

    def __lt__(self, other: "Version") -> bool:
        return self.parts < other.parts

    def __gt__(self, other: "Version") -> bool:
        return self.parts > other.parts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.parts == other.parts
'''


def suite_files(into: Path) -> list[Path]:
    """Every distribution of the suite index, written into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    return [
        *(
            wheel(
                into,
                "six",
                v,
                modules={"six.py": f'"""Python 2 and 3 compatibility."""\n__version__ = "{v}"\n'},
                tag="py2.py3-none-any",
            )
            for v in SIX_VERSIONS
        ),
        wheel(into, "idna", IDNA, modules={"idna/__init__.py": _IDNA_SOURCE}),
        wheel(into, "attrs", ATTRS, modules={"attrs/__init__.py": f'__version__ = "{ATTRS}"\n'}),
        wheel(
            into,
            "packaging",
            PACKAGING,
            modules={
                "packaging/__init__.py": f'__version__ = "{PACKAGING}"\n',
                "packaging/version.py": _PACKAGING_VERSION_SOURCE,
            },
        ),
        sdist(into, *SDIST_ONLY, modules={"docopt.py": '__version__ = "0.6.2"\n'}),
    ]


@dataclass(frozen=True)
class SuiteIndex:
    root: Path
    url: str  # http://127.0.0.1:<port>/simple

    def sha256(self, filename: str) -> str:
        """The digest of one of the index's files, which a pin must match."""
        return hashlib.sha256((self.root / "files" / filename).read_bytes()).hexdigest()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Silent: pytest shows a failing test's output, and pip's requests
        would bury it."""


@contextmanager
def serving(root: Path) -> Iterator[str]:
    """`root` over HTTP on a free 127.0.0.1 port, from a thread; its base URL."""
    handler = partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="package-index", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


_suite: SuiteIndex | None = None


@contextmanager
def suite_index_served(root: Path) -> Iterator[SuiteIndex]:
    """Builds the suite index in `root` and serves it while the context
    lasts; meanwhile `suite_index()` returns it (tests/conftest.py holds it
    for the session)."""
    global _suite
    index(root, suite_files(root / "files"))
    with serving(root) as base:
        _suite = SuiteIndex(root, f"{base}/simple")
        try:
            yield _suite
        finally:
            _suite = None


def suite_index() -> SuiteIndex:
    if _suite is None:
        raise RuntimeError("the suite's package index is not served (tests/conftest.py serves it)")
    return _suite


def is_local_index(url: str) -> bool:
    """A file:// index, or one on 127.0.0.1 or ::1 (the suite's rule for
    every server a test talks to)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file":
        return parsed.netloc == ""
    # A name (even localhost) would be looked up, and may lead anywhere.
    return parsed.scheme in ("http", "https") and parsed.hostname in ("127.0.0.1", "::1")


def refuse_remote_index(url: str) -> str:
    """`url`, if a test may use it as a package index; else an error."""
    if not is_local_index(url):
        raise ValueError(
            f"package index {url!r} is not on this machine: tests use a file:// index "
            "or one on 127.0.0.1 / ::1 (tests/support/package_index.py)"
        )
    return url
