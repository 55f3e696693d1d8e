"""The web page's ES modules (CodeMirror 6 and the `diff` library), copied
from an npm install and named to the browser by an import map.

The page has no build step: the browser loads each package's own ES module
files, and the import map turns a bare specifier (`@codemirror/view`) into
the URL of its copy. The set of files is found by following the imports
from the page's entry specifiers (ENTRY_SPECIFIERS), so every transitive
dependency (@lezer/*, style-mod, w3c-keyname, crelt, ...) is copied and
mapped without being listed by hand; a new version that adds one needs no
change here.

Each bare specifier must resolve to exactly one file: CodeMirror keeps its
state in module-level classes, and two copies of `@codemirror/state` break
it quietly (its `instanceof` checks fail), so that is reported instead.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

# What the page's own scripts (static/*.js) import.
ENTRY_SPECIFIERS = (
    "codemirror",
    "@codemirror/state",
    "@codemirror/view",
    "@codemirror/language",
    "@codemirror/commands",
    "@codemirror/lint",
    "@codemirror/lang-python",
    "@codemirror/lang-javascript",
    "@codemirror/legacy-modes/mode/shell",
    "diff",
)
# Export conditions a browser loading ES modules matches, in npm's order.
_CONDITIONS = ("browser", "import", "module", "default")

# import ... from "x"; export ... from "x"; import "x" — at the start of a
# line, as the packages' dist files write them (a comment's example never is).
_IMPORT = re.compile(
    r"""^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*["']([^"']+)["']"""
    r"""|^[ \t]*import\s*["']([^"']+)["']""",
    re.MULTILINE,
)


def imports_of(source: str) -> list[str]:
    """The module specifiers a file imports statically, in order."""
    return [match[1] or match[2] for match in _IMPORT.finditer(source)]


def is_bare(specifier: str) -> bool:
    return not specifier.startswith(("./", "../", "/")) and "://" not in specifier


def split_specifier(specifier: str) -> tuple[str, str]:
    """`@scope/name/sub/path` -> (`@scope/name`, `sub/path`)."""
    parts = specifier.split("/")
    count = 2 if specifier.startswith("@") else 1
    return "/".join(parts[:count]), "/".join(parts[count:])


class ModuleError(Exception):
    """A specifier that cannot be resolved to one installed ES module file."""


@dataclass
class ModuleSet:
    """The files to copy (package dir, version, relative path) and the map."""

    files: dict[Path, tuple[str, str, str]] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _pick(target: Any) -> str | None:
    """The file an `exports` entry names for a browser's `import`."""
    if isinstance(target, str):
        return target
    if isinstance(target, list):
        for item in target:
            found = _pick(item)
            if found is not None:
                return found
        return None
    if isinstance(target, dict):
        for condition in _CONDITIONS:
            if condition in target:
                found = _pick(target[condition])
                if found is not None:
                    return found
    return None


def _entry(manifest: dict[str, Any], subpath: str) -> str | None:
    exports = manifest.get("exports")
    key = f"./{subpath}" if subpath else "."
    if exports is not None:
        if isinstance(exports, (str, list)) or (
            isinstance(exports, dict) and not any(k.startswith(".") for k in exports)
        ):
            exports = {".": exports}
        if key in exports:
            return _pick(exports[key])
        for pattern, target in exports.items():
            prefix, star, suffix = pattern.partition("*")
            if star and key.startswith(prefix) and key.endswith(suffix):
                picked = _pick(target)
                if picked is not None:
                    return picked.replace("*", key[len(prefix) : len(key) - len(suffix)])
        return None
    if subpath:
        return subpath if subpath.endswith(".js") else f"{subpath}.js"
    module = manifest.get("module") or manifest.get("main") or "index.js"
    return str(module)


def _package_dir(name: str, importer: Path, node_modules: Path) -> Path:
    """Node's lookup: the nearest node_modules above the importer that has it."""
    for folder in [importer, *importer.parents]:
        candidate = folder / "node_modules" / name
        if folder.name != "node_modules" and (candidate / "package.json").is_file():
            return candidate
        if folder == node_modules.parent:
            break
    raise ModuleError(f"{name}: not installed in {node_modules}")


def resolve(specifier: str, importer: Path, node_modules: Path) -> tuple[Path, Path]:
    """A bare specifier -> (its package's dir, the ES module file)."""
    name, subpath = split_specifier(specifier)
    package = _package_dir(name, importer, node_modules)
    manifest = json.loads((package / "package.json").read_text())
    entry = _entry(manifest, subpath)
    if entry is None:
        raise ModuleError(f"{specifier}: {name} exports no ES module for it")
    path = (package / entry).resolve()
    if not path.is_file() or not path.is_relative_to(package.resolve()):
        raise ModuleError(f"{specifier}: {path} is missing")
    return package, path


def collect(
    node_modules: Path, url_prefix: str, entries: tuple[str, ...] = ENTRY_SPECIFIERS
) -> ModuleSet:
    """Follow the imports from `entries`; the files and the import map.

    Each file is served at `<url_prefix><package>@<version>/<path in it>`,
    so a package's relative imports resolve in the browser as on disk."""
    found = ModuleSet()
    root = node_modules.resolve()
    pending: list[tuple[str, Path]] = [(s, root.parent) for s in entries]
    packages: dict[Path, tuple[str, str]] = {}
    relative: list[Path] = []

    def url_of(package: Path, path: Path) -> str:
        name, version = packages[package]
        return f"{url_prefix}{name}@{version}/{path.relative_to(package).as_posix()}"

    def add(package: Path, path: Path) -> None:
        if path not in found.files:
            name, version = packages[package]
            found.files[path] = (name, version, path.relative_to(package).as_posix())
            relative.append(path)

    while pending or relative:
        if relative:
            path = relative.pop()
            package = next(p for p in packages if path.is_relative_to(p))
            for specifier in imports_of(path.read_text(encoding="utf-8")):
                if is_bare(specifier):
                    pending.append((specifier, path.parent))
                    continue
                target = (path.parent / PurePosixPath(specifier)).resolve()
                if not target.is_file() or not target.is_relative_to(package):
                    found.problems.append(f"{path}: imports {specifier}, which is missing")
                    continue
                add(package, target)
            continue
        specifier, importer = pending.pop()
        try:
            package, path = resolve(specifier, importer, root)
        except (ModuleError, OSError, ValueError) as exc:
            found.problems.append(str(exc))
            continue
        package = package.resolve()
        if package not in packages:
            manifest = json.loads((package / "package.json").read_text())
            packages[package] = (manifest["name"], manifest["version"])
        url = url_of(package, path)
        known = found.imports.setdefault(specifier, url)
        if known != url:
            found.problems.append(
                f"{specifier}: two copies installed ({known} and {url}); "
                "deduplicate web/package-lock.json (npm dedupe)"
            )
        add(package, path)
    return found


def vendor_modules(
    node_modules: Path, target_dir: Path, url_prefix: str
) -> tuple[set[Path], list[str]]:
    """Copy the page's modules under target_dir and write its import map
    (target_dir/importmap.json); returns the files written and the problems."""
    found = collect(node_modules, url_prefix)
    wanted: set[Path] = set()
    for source, (name, version, relative) in found.files.items():
        target = target_dir / f"{name}@{version}" / relative
        wanted.add(target)
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    if not found.problems:
        map_file = target_dir / "importmap.json"
        text = json.dumps({"imports": dict(sorted(found.imports.items()))}, indent=2) + "\n"
        if not map_file.is_file() or map_file.read_text() != text:
            map_file.parent.mkdir(parents=True, exist_ok=True)
            map_file.write_text(text)
        wanted.add(map_file)
    return wanted, found.problems
