"""The scripts a run imports: found from its script's content, then from
theirs (services/script_imports.py reads each), in the script owner's tree
and only among what the person running it may read, each pinned to its
version at the run's start and capped in number and bytes.

What the worker ships to the sandbox with the job (under $SCRIPTBOX_LIB, at
their tree paths) and what the execution lists afterwards. A script is
taken once however often it is imported, so a cycle ends where Python's
(or Node's) does, and a script that imports itself adds nothing. A
JavaScript run also names where its own script sits among them
(`Bundle.main_path`), since Node resolves an import from the importing file."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from tortoise.expressions import Q

from core.codes import ExecutionErrorCode
from core.languages import Language
from models.executions import Execution
from models.tree import Script, ScriptVersion
from models.users import User
from services.access import Caller, sees_in_tree, visible
from services.reach import caller_for
from services.script_imports import (
    ScriptImport,
    imports_of,
    join,
    mentions_imports,
    paths_asked,
)
from services.tree import folder_index, parent_key
from services.tree_index import FolderIndex

# (storage key, sha256) -> the version's bytes: the worker's cached reader.
ReadContent = Callable[[str, str], Awaitable[bytes]]


@dataclass(frozen=True)
class BundledScript:
    path: str
    version: int
    sha256: str
    script_id: str
    storage_key: str
    size: int

    def as_record(self) -> dict[str, object]:
        """What the execution row keeps of it."""
        return {
            "path": self.path,
            "version": self.version,
            "sha256": self.sha256,
            "script_id": self.script_id,
        }


@dataclass
class Bundle:
    scripts: list[BundledScript] = field(default_factory=list)
    contents: list[bytes] = field(default_factory=list)
    # The folders Python searches first, in order ('' is the tree's top).
    import_path: list[str] = field(default_factory=list)
    # Where the run's own script goes among them ('' : not there): a
    # JavaScript import is relative to the importing file, so the script
    # runs from its tree path for its neighbours to be where it says.
    main_path: str = ""

    def library(self) -> list[tuple[str, bytes]]:
        """The files the sandbox puts under $SCRIPTBOX_LIB; the run's own
        script, when imported back, goes there once, as the script."""
        return [
            (entry.path, data)
            for entry, data in zip(self.scripts, self.contents, strict=True)
            if entry.path != self.main_path
        ]


@dataclass(frozen=True)
class BundleCaps:
    max_scripts: int
    max_bytes: int


class BundleRefused(Exception):
    """The run cannot start: an import is missing or refused, or the
    bundle is over its caps. `code` is the execution's error code."""

    def __init__(self, code: ExecutionErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class OwnerTree:
    """One owner's tree as `reader` sees it (None: the owner, who sees it
    all), answering `TreeLookup` from rows loaded by `load`."""

    def __init__(self, owner_id: str, folders: FolderIndex, reader: Caller | None) -> None:
        self.owner_id = owner_id
        self.folders = folders
        self.reader = reader
        self.scripts: dict[str, Script] = {}
        self._asked: set[str] = set()

    @classmethod
    async def of(cls, owner_id: uuid.UUID | str, reader: Caller | None) -> OwnerTree:
        return cls(str(owner_id), await folder_index(owner_id), reader)

    def path_of(self, script: Script) -> str:
        return join(self.folders.path(script.folder_id), script.name)

    def folder_path_of(self, script: Script) -> str:
        return self.folders.path(script.folder_id)

    async def load(self, paths: Iterable[str]) -> None:
        """Read the scripts at these paths, one query for all of them."""
        wanted: dict[tuple[str, str], str] = {}
        for path in set(paths) - self._asked:
            self._asked.add(path)
            *folder_names, name = path.split("/")
            folder = self.folders.resolve(folder_names) if folder_names else None
            if folder_names and folder is None:
                continue
            wanted[(parent_key(folder.id if folder else None), name)] = path
        if not wanted:
            return
        keys = {key for key, _ in wanted}
        names = {name for _, name in wanted}
        rows = await Script.filter(owner_id=self.owner_id, parent_key__in=keys, name__in=names)
        for row in rows:
            at = wanted.get((row.parent_key, row.name))
            if at is not None and self._sees(row.folder_id):
                self.scripts[at] = row

    def is_script(self, path: str) -> bool:
        return path in self.scripts

    def is_folder(self, path: str) -> bool:
        if not path:
            return True
        folder = self.folders.resolve(path.split("/"))
        return folder is not None and self._sees(folder.id)

    def _sees(self, folder_id: uuid.UUID | str | None) -> bool:
        return self.reader is None or sees_in_tree(self.reader, self.owner_id, folder_id)


async def script_imports(
    tree: OwnerTree, script: Script, content: str, *, main_folder: str | None = None
) -> list[ScriptImport]:
    """What one script imports, found or not. `main_folder`: the folder of
    the run's script, when this one is imported by it (Python searches
    there, not in this script's own folder)."""
    language = Language(script.language)
    if not mentions_imports(language, content):
        return []
    folder = tree.folder_path_of(script)
    roots = search_roots(folder if main_folder is None else main_folder)
    await tree.load(paths_asked(content, language, folder, roots))
    return imports_of(language, content, folder, roots, tree)


def search_roots(folder: str) -> list[str]:
    """Where Python looks for a script's imports: its folder, then the top."""
    return [folder, ""] if folder else [""]


async def resolve_bundle(
    script: Script,
    version: ScriptVersion,
    content: bytes,
    reader: Caller | None,
    read: ReadContent,
    caps: BundleCaps,
) -> Bundle:
    """Every script the run of `version` imports, transitively, with its
    content; BundleRefused when one is missing or refused, or past a cap."""
    language = Language(script.language)
    if not mentions_imports(language, content.decode(errors="replace")):
        return Bundle()
    tree = await OwnerTree.of(script.owner_id, reader)
    main_folder = tree.folder_path_of(script)
    bundle = Bundle()
    # By id, each once. The run's own script is parsed already; imported
    # by name (a cycle back to it, or itself), it is shipped as a module of
    # its own, in the version this run runs, as Python would load it.
    taken: set[str] = set()
    size = 0
    level: list[tuple[Script, str, bytes]] = [(script, tree.path_of(script), content)]
    while level:
        found: dict[str, Script] = {}
        for importer, importer_path, text in level:
            imports = await script_imports(
                tree, importer, text.decode(errors="replace"), main_folder=main_folder
            )
            for item in imports:
                _refuse_unresolved(item, importer_path)
                row = tree.scripts[item.path]
                if str(row.id) not in taken:
                    taken.add(str(row.id))
                    found[item.path] = row
        if len(bundle.scripts) + len(found) > caps.max_scripts:
            raise BundleRefused(
                ExecutionErrorCode.BUNDLE_TOO_LARGE,
                f"The script imports more than {caps.max_scripts} scripts, the most one run "
                "may take.",
            )
        versions = await _pinned_versions(found, script, version)
        size += sum(row.size for row in versions.values())
        if size > caps.max_bytes:
            raise BundleRefused(
                ExecutionErrorCode.BUNDLE_TOO_LARGE,
                f"The scripts it imports are more than {caps.max_bytes} bytes together, the "
                "most one run may take.",
            )
        contents = await asyncio.gather(
            *(read(row.storage_key, row.sha256) for row in versions.values())
        )
        level = []
        for (path, pinned), data in zip(versions.items(), contents, strict=True):
            bundle.scripts.append(
                BundledScript(
                    path=path,
                    version=pinned.version,
                    sha256=pinned.sha256,
                    script_id=str(found[path].id),
                    storage_key=pinned.storage_key,
                    size=pinned.size,
                )
            )
            bundle.contents.append(data)
            if str(found[path].id) != str(script.id):  # parsed already
                level.append((found[path], path, data))
    if bundle.scripts and language is Language.PYTHON:
        bundle.import_path = search_roots(main_folder)
    if bundle.scripts and language is Language.JAVASCRIPT:
        bundle.main_path = tree.path_of(script)
    return bundle


def _refuse_unresolved(item: ScriptImport, importer_path: str) -> None:
    if item.problem == "refused":
        raise BundleRefused(
            ExecutionErrorCode.IMPORT_REFUSED,
            f"The import '{item.written}' in {importer_path} is refused: imports stay inside "
            "the tree, without '..' or absolute paths.",
        )
    if item.problem == "missing":
        raise BundleRefused(
            ExecutionErrorCode.MISSING_IMPORT,
            f"The import '{item.written}' in {importer_path} names no script "
            f"(looked for {item.path}).",
        )


async def _pinned_versions(
    found: dict[str, Script], script: Script, version: ScriptVersion
) -> dict[str, ScriptVersion]:
    """Each found script's current version (the run's own, for its script)."""
    others = {path: row for path, row in found.items() if str(row.id) != str(script.id)}
    rows: list[ScriptVersion] = []
    if others:
        wanted = [Q(script_id=row.id, version=row.version) for row in others.values()]
        rows = await ScriptVersion.filter(Q(*wanted, join_type=Q.OR))
    by_script = {str(row.script_id): row for row in rows}
    pinned: dict[str, ScriptVersion] = {}
    for path, row in found.items():
        own = str(row.id) == str(script.id)
        current = version if own else by_script.get(str(row.id))
        if current is None:
            # Changed or deleted between the two reads: as if never there.
            raise BundleRefused(
                ExecutionErrorCode.MISSING_IMPORT,
                f"The imported script {path} changed while the run started; run it again.",
            )
        pinned[path] = current
    return pinned


async def reader_of(runner_id: uuid.UUID | str, owner_id: uuid.UUID | str) -> Caller | None:
    """Whose reach a run's imports are limited to: None when the person who
    runs the script owns it (their whole tree), else what they may read."""
    if str(runner_id) == str(owner_id):
        return None
    return await caller_for(await User.get(id=runner_id))


async def pin(execution: Execution, bundle: Bundle) -> None:
    """Record on the execution what it imported, before it runs."""
    if bundle.scripts:
        execution.bundle = [entry.as_record() for entry in bundle.scripts]
        await Execution.filter(id=execution.id).update(bundle=execution.bundle)


async def imports_seen_by(
    caller: Caller, script: Script, content: str, folders: FolderIndex
) -> list[ScriptImport]:
    """What a script imports, as `caller` would run it: the scripts they may
    not read count as absent, so the answer tells them nothing about those.
    `folders`: the owner's, as the request has them already."""
    return await script_imports(OwnerTree(str(script.owner_id), folders, caller), script, content)


async def bundle_seen_by(caller: Caller, execution: Execution) -> list[dict[str, object]]:
    """The execution's bundle, less the scripts `caller` may not see (a run
    of a shared script, looked at by someone the helpers are not shared with)."""
    entries = list(execution.bundle)
    ids = [str(entry["script_id"]) for entry in entries]
    if not ids:
        return []
    seen = {
        str(script_id)
        for script_id in await visible(Script.filter(id__in=ids), caller).values_list(
            "id", flat=True
        )
    }
    return [entry for entry in entries if str(entry["script_id"]) in seen]
