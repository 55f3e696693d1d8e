"""Which of the owner's scripts a script's content imports, read without
running it: `ast` for Python, one conservative pattern for shell.

Pure: the tree is asked through `TreeLookup`, answered from rows loaded
beforehand (services/bundles.py), so the rules here can be read, and
tested, on their own.

Python finds a module the way the sandbox's interpreter will: in the run's
script folder first, then at the tree's top (both put on sys.path, in that
order), a package's `__init__.py` before a module file, a folder without
one as a namespace package. An import whose first name is neither a script
nor a folder there is not the owner's (`json`, `requests`): the interpreter
answers it. One that starts in the tree but ends nowhere (`lib.nothere`),
or any relative import that finds nothing, is missing. Shell names what it
sources by its path from the tree's top: `. "$SCRIPTBOX_LIB/lib/common.sh"`
(also `source`, `${SCRIPTBOX_LIB}`, in double quotes or none); any other source line
is left alone. JavaScript names a neighbour by a specifier relative to its
own file's folder, as Node resolves it: `import ... from "./lib/geo.js"`,
`import "./x.js"`, `export ... from "./x.js"`, `import("./x.js")` and
`require("./x.js")`, each with one string literal (`require` may leave out
`.js`); a bare name (`node:fs`, `lodash`) is Node's, a computed one is left
alone, and the pattern reads comments too."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from core.languages import Language

Problem = Literal["missing", "refused"]


class TreeLookup(Protocol):
    def is_script(self, path: str) -> bool: ...

    def is_folder(self, path: str) -> bool: ...


@dataclass(frozen=True)
class ScriptImport:
    """One script an import names: found at `path`, or not (`problem`)."""

    written: str  # as the content says it: 'lib.geo', '.units', '$SCRIPTBOX_LIB/x.sh'
    path: str  # where in the tree it is, or would be
    problem: Problem | None = None

    @property
    def resolved(self) -> bool:
        return self.problem is None


def imports_of(
    language: Language, content: str, folder: str, roots: Iterable[str], tree: TreeLookup
) -> list[ScriptImport]:
    """The owner's scripts that `content` imports, each once, in the order
    written; `folder` is where this script sits (relative imports start
    there), `roots` the folders Python searches, in order."""
    if language is Language.PYTHON:
        found: Iterable[ScriptImport] = _PythonImports(folder, tuple(roots), tree).of(content)
    elif language is Language.JAVASCRIPT:
        found = _javascript_imports(content, folder, tree)
    else:
        found = _sourced(content, tree)
    unique: dict[tuple[str, Problem | None], ScriptImport] = {}
    for item in found:
        unique.setdefault((item.path, item.problem), item)
    return list(unique.values())


def paths_asked(content: str, language: Language, folder: str, roots: Iterable[str]) -> set[str]:
    """Every script path `imports_of` may ask the tree about: load these (and
    the owner's folders) and the lookup answers without another query."""
    recorder = _Recorder()
    imports_of(language, content, folder, roots, recorder)
    return recorder.asked


def mentions_imports(language: Language, content: str) -> bool:
    """A cheap first look: content that cannot import a script skips parsing."""
    if language is Language.PYTHON:
        return "import" in content
    if language is Language.JAVASCRIPT:
        return "import" in content or "require" in content
    return LIB_VARIABLE in content


def join(*parts: str) -> str:
    return "/".join(part for part in parts if part)


# ---- Python ------------------------------------------------------------------


class _PythonImports:
    def __init__(self, folder: str, roots: tuple[str, ...], tree: TreeLookup) -> None:
        self.folder = folder
        self.roots = roots
        self.tree = tree

    def of(self, content: str) -> Iterator[ScriptImport]:
        try:
            module = ast.parse(content)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return  # the interpreter reports it when the script runs
        for node in ast.walk(module):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield from self._absolute(alias.name.split("."), ())
            elif isinstance(node, ast.ImportFrom):
                names = tuple(alias.name for alias in node.names if alias.name != "*")
                module_parts = node.module.split(".") if node.module else []
                if node.level == 0:
                    yield from self._absolute(module_parts, names)
                else:
                    yield from self._relative(node.level, module_parts, names)

    def _absolute(self, parts: list[str], names: tuple[str, ...]) -> Iterator[ScriptImport]:
        if self._find(self.roots, parts[:1]) is None:
            return  # not the owner's: the interpreter's to find
        yield from self._chain(self.roots, parts, names, ".".join(parts))

    def _relative(
        self, level: int, parts: list[str], names: tuple[str, ...]
    ) -> Iterator[ScriptImport]:
        written = "." * level + ".".join(parts)
        if level > 1:
            # Above the importing script's folder: refused rather than
            # reasoned about, so an import never climbs out of the tree.
            yield ScriptImport(written, join(self.folder, *parts), "refused")
            return
        yield from self._chain((self.folder,), parts, names, written)

    def _chain(
        self, roots: tuple[str, ...], parts: list[str], names: tuple[str, ...], written: str
    ) -> Iterator[ScriptImport]:
        """Each package on the way to the module, the module, and each name
        taken from it that is a module of its own."""
        kind: str | None = "folder"
        for depth in range(1, len(parts) + 1):
            found = self._find(roots, parts[:depth])
            if found is None:
                yield ScriptImport(written, self._expected(roots, parts), "missing")
                return
            kind, path = found
            if kind == "script":
                yield ScriptImport(written, path)
        for name in names:
            taken = written + name if written.endswith(".") else f"{written}.{name}"
            found = self._find(roots, [*parts, name])
            if found is not None:
                if found[0] == "script":
                    yield ScriptImport(taken, found[1])
            elif kind == "folder" and not self._has_init(roots, parts):
                # A folder without __init__.py has no attributes: the name
                # can only be a module, and there is none.
                yield ScriptImport(taken, self._expected(roots, [*parts, name]), "missing")

    def _find(self, roots: tuple[str, ...], parts: list[str]) -> tuple[str, str] | None:
        """('script', path) or ('folder', path): what Python would load for
        these names, searching `roots` in order; None when nothing."""
        if not parts:
            return ("folder", roots[0]) if roots else None
        for root in roots:
            package = join(root, *parts, "__init__.py")
            if self.tree.is_script(package):
                return ("script", package)
            module = join(root, *parts[:-1], parts[-1] + ".py")
            if self.tree.is_script(module):
                return ("script", module)
        for root in roots:
            if self.tree.is_folder(join(root, *parts)):
                return ("folder", join(root, *parts))
        return None

    def _has_init(self, roots: tuple[str, ...], parts: list[str]) -> bool:
        found = self._find(roots, parts)
        if found is None:
            return False
        kind, path = found
        return kind == "script" or self.tree.is_script(join(path, "__init__.py"))

    def _expected(self, roots: tuple[str, ...], parts: list[str]) -> str:
        """Where the missing module would be: under the first root that has
        the import's first name."""
        root = next((r for r in roots if self._find((r,), parts[:1])), roots[0] if roots else "")
        return join(root, *parts[:-1], parts[-1] + ".py") if parts else root


# ---- shell ---------------------------------------------------------------------

LIB_VARIABLE = "SCRIPTBOX_LIB"
# `. "$SCRIPTBOX_LIB/lib/common.sh"`, `source ${SCRIPTBOX_LIB}/x.sh`: a literal
# path after the variable, unquoted or in double quotes (single quotes do not
# expand it); anything computed is the shell's business.
_SOURCE_LINE = re.compile(
    r"""^\s*(?:\.|source)\s+("?)\$(?:\{SCRIPTBOX_LIB\}|SCRIPTBOX_LIB\b)"""
    r"""(/[^\s"';&|$`]*)\1\s*(?:[;#].*)?$""",
    re.MULTILINE,
)


def _sourced(content: str, tree: TreeLookup) -> Iterator[ScriptImport]:
    for match in _SOURCE_LINE.finditer(content):
        tail = match.group(2)
        written = f"${LIB_VARIABLE}{tail}"
        segments = tail[1:].split("/")
        if not tail[1:] or any(segment in ("", ".", "..") for segment in segments):
            # '..', '//' (an absolute path after the variable) or '.': never
            # a script of the tree, whatever the folders are called.
            yield ScriptImport(written, tail[1:], "refused")
            continue
        path = "/".join(segments)
        yield ScriptImport(written, path, None if tree.is_script(path) else "missing")


# ---- JavaScript ----------------------------------------------------------------

# A string literal in one of the places Node reads a specifier from: after
# `from` (import and export), right after `import`, or as the one argument
# of `import(...)` / `require(...)`. Template literals and anything computed
# are not matched: only what Node will resolve, not what it might.
_SPECIFIER = re.compile(
    r"""(?:\b(?:import|export)\b[^;'"`]*?\bfrom\s*|\bimport\s*|"""
    r"""\b(?P<call>import|require)\s*\(\s*)(?P<quote>["'])(?P<spec>[^"'\\\n]*)(?P=quote)"""
)


def _javascript_imports(content: str, folder: str, tree: TreeLookup) -> Iterator[ScriptImport]:
    for match in _SPECIFIER.finditer(content):
        if match.group("call") and not re.match(r"\s*\)", content[match.end() :]):
            continue  # `require("./x" + name)`: computed
        written = match.group("spec")
        if written.startswith(("/", "file:")):
            yield ScriptImport(written, written, "refused")
            continue
        if not written.startswith(("./", "../")):
            continue  # a package or a Node built-in: Node's to find
        path = _relative_path(folder, written)
        if path is None:
            yield ScriptImport(written, join(folder, written), "refused")
            continue
        candidates = [path]
        if match.group("call") == "require" and not path.rsplit("/", 1)[-1].count("."):
            candidates.append(path + ".js")  # CommonJS adds the extension
        found = next((c for c in candidates if tree.is_script(c)), None)
        yield ScriptImport(written, found or path, None if found else "missing")


def _relative_path(folder: str, specifier: str) -> str | None:
    """The tree path `specifier` names from `folder`, or None when it climbs
    above the tree's top (or names no file)."""
    parts = folder.split("/") if folder else []
    for segment in specifier.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(segment)
    if not parts or specifier.endswith("/"):
        return None
    return "/".join(parts)


class _Recorder:
    """A lookup where every folder exists and no script does, noting each
    script path it is asked about: every path the rules could reach."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def is_script(self, path: str) -> bool:
        self.asked.add(path)
        return False

    def is_folder(self, path: str) -> bool:
        return True
