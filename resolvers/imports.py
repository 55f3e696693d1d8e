"""GraphQL for the scripts a script imports: what each script's content
imports now (`Script.imports`), and what a run took (`Execution.bundle`)."""

from __future__ import annotations

import strawberry

from models.executions import Execution
from models.tree import Script
from services.access import Caller
from services.bundles import bundle_seen_by, imports_seen_by
from services.tree_index import FolderIndex


@strawberry.type(description="A script this script imports, found in the tree or not.")
class ScriptImport:
    path: str = strawberry.field(description="Where in the tree it is, or would be.")
    resolved: bool = strawberry.field(
        description="False: a run of this script fails with MISSING_IMPORT or IMPORT_REFUSED."
    )


@strawberry.type(description="A script a run imported, pinned when the run started.")
class BundledScript:
    path: str
    version: int
    sha256: str


async def imports_of(
    caller: Caller, script: Script, content: str, folders: FolderIndex
) -> list[ScriptImport]:
    found = await imports_seen_by(caller, script, content, folders)
    return [ScriptImport(path=item.path, resolved=item.resolved) for item in found]


async def bundle_of(caller: Caller, execution: Execution) -> list[BundledScript]:
    return [
        BundledScript(
            path=str(entry["path"]),
            version=int(str(entry["version"])),
            sha256=str(entry["sha256"]),
        )
        for entry in await bundle_seen_by(caller, execution)
    ]
