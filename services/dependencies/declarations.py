"""What a Python script declares it needs: a PEP 723 ``# /// script`` block
with ``dependencies = [...]``, and/or a requirements text attached to the
script. Both are merged into one normalised, sorted list of PEP 508
requirements, keyed by its hash.

Only named requirements from the package index are accepted: no pip options
(``-r``, ``--index-url``, ``-e`` ...), no URLs or paths (``name @ url``), so a
script cannot point the host's downloader anywhere else.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

# The sandbox image's interpreter (sandbox.Runtime): part of every key.
PYTHON_VERSION = "3.11"
MAX_REQUIREMENTS = 64
MAX_REQUIREMENT_LENGTH = 512

# The reference expression from PEP 723.
_BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")


class DeclarationError(Exception):
    def __init__(
        self, message: str, line: int | None = None, in_requirements: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.in_requirements = in_requirements  # else: in the script's own block


@dataclass(frozen=True)
class Declared:
    requirements: tuple[str, ...]

    @property
    def key(self) -> str:
        return spec_key(self.requirements)


def spec_key(requirements: tuple[str, ...] | list[str]) -> str:
    text = json.dumps({"v": 1, "python": PYTHON_VERSION, "requirements": sorted(requirements)})
    return hashlib.sha256(text.encode()).hexdigest()


def declared(content: str, requirements_text: str | None) -> Declared | None:
    """The script's dependencies, or None when it declares none.

    Raises DeclarationError (with a line number where one applies)."""
    found = sorted({*inline_dependencies(content), *requirements_lines(requirements_text)})
    if not found:
        return None
    if len(found) > MAX_REQUIREMENTS:
        raise DeclarationError(f"A script may declare at most {MAX_REQUIREMENTS} requirements.")
    return Declared(tuple(sorted(found)))


def key_for_save(python: bool, content: str, requirements: str | None) -> str | None:
    """The DependencySet key a saved script points at (None: no dependencies)."""
    if not python:
        if requirements and requirements.strip():
            raise DeclarationError("Only Python scripts take requirements.", in_requirements=True)
        return None
    found = declared(content, requirements)
    return found.key if found else None


def inline_dependencies(content: str) -> list[str]:
    """The ``dependencies`` of a PEP 723 ``script`` block (none: [])."""
    blocks = [m for m in _BLOCK.finditer(content) if m.group("type") == "script"]
    if not blocks:
        return []
    if len(blocks) > 1:
        raise DeclarationError("More than one '# /// script' block.")
    block = blocks[0]
    line = content.count("\n", 0, block.start()) + 1
    toml = "".join(
        text[2:] if text.startswith("# ") else text[1:]
        for text in block.group("content").splitlines(keepends=True)
    )
    try:
        metadata = tomllib.loads(toml)
    except tomllib.TOMLDecodeError as exc:
        raise DeclarationError(f"The '# /// script' block is not valid TOML: {exc}", line) from None
    requires_python = metadata.get("requires-python")
    if requires_python is not None:
        check_python(requires_python, line)
    dependencies = metadata.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise DeclarationError("'dependencies' must be a list of strings.", line)
    return [normalise(d, line) for d in dependencies]


def requirements_lines(text: str | None) -> list[str]:
    """Requirements from a requirements text: one per line, '#' comments."""
    try:
        return _requirements_lines(text)
    except DeclarationError as exc:
        exc.in_requirements = True
        raise


def _requirements_lines(text: str | None) -> list[str]:
    found = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith("-"):
            raise DeclarationError(
                f"Line {number}: pip options are not allowed; list one package per line.", number
            )
        if line.endswith("\\"):
            raise DeclarationError(f"Line {number}: line continuations are not allowed.", number)
        found.append(normalise(line, number))
    return found


def normalise(text: str, line: int | None) -> str:
    """A canonical PEP 508 string for one named index requirement."""
    where = f"Line {line}: " if line else ""
    if len(text) > MAX_REQUIREMENT_LENGTH:
        raise DeclarationError(f"{where}a requirement is too long.", line)
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise DeclarationError(f"{where}invalid requirement {text!r}: {exc}", line) from None
    if requirement.url:
        raise DeclarationError(
            f"{where}{requirement.name}: direct URLs and paths are not allowed; "
            "name a package from the index.",
            line,
        )
    name = canonicalize_name(requirement.name)
    extras = f"[{','.join(sorted(canonicalize_name(e) for e in requirement.extras))}]"
    specifier = ",".join(sorted(str(s) for s in requirement.specifier))
    marker = f"; {requirement.marker}" if requirement.marker else ""
    return f"{name}{extras if requirement.extras else ''}{specifier}{marker}"


def check_python(requires_python: object, line: int | None) -> None:
    if not isinstance(requires_python, str):
        raise DeclarationError("'requires-python' must be a string.", line)
    try:
        wanted = SpecifierSet(requires_python)
    except InvalidSpecifier:
        raise DeclarationError(f"Invalid requires-python {requires_python!r}.", line) from None
    if not wanted.contains(PYTHON_VERSION, prereleases=True):
        raise DeclarationError(
            f"The script requires Python {requires_python}; the sandbox runs {PYTHON_VERSION}.",
            line,
        )
