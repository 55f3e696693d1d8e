"""Writes a big tree straight into a service's data dir, with the project's
own models and store (building 10,000 nodes through GraphQL would take
minutes): users, folders, scripts, script_versions rows and one storage
object per script, as `createScript` would leave them."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.gql import PASSWORD
from core.languages import Language
from models import db
from models.tree import Folder, Script, ScriptVersion
from models.users import User
from services.credentials import hash_password
from services.tree import SCRIPT_CONTENT_TYPE, parent_key, script_prefix
from storage import LocalStorageConfig, create_object_store

WRITE_CONCURRENCY = 16


@dataclass(frozen=True)
class SeededTree:
    username: str
    folders: int
    scripts: int
    depth: int

    @property
    def nodes(self) -> int:
        return self.folders + self.scripts


def database_url(data_dir: Path) -> str:
    return f"sqlite://{data_dir / 'scriptbox.sqlite3'}"


def fanout_for(nodes: int, depth: int) -> int:
    """The widest folder fan-out whose depth-1 folder levels take at most
    half of the nodes (the rest are scripts, so scripts sit at every level,
    down to `depth`)."""
    fanout = 1
    while sum((fanout + 1) ** level for level in range(1, depth)) <= nodes // 2:
        fanout += 1
    return fanout


def plan(owner_id: uuid.UUID, nodes: int, depth: int) -> tuple[list[Folder], list[Script]]:
    fanout = fanout_for(nodes, depth)
    folders: list[Folder] = []
    parents: list[Folder | None] = [None]
    for level in range(1, depth):
        current: list[Folder | None] = []
        for parent in parents:
            for k in range(fanout):
                folder = Folder(
                    id=uuid.uuid4(),
                    owner_id=owner_id,
                    parent_id=parent.id if parent else None,
                    parent_key=parent_key(parent.id if parent else None),
                    name=f"folder-{level}-{k}",
                )
                folders.append(folder)
                current.append(folder)
        parents = current
    scripts: list[Script] = []
    for j in range(max(0, nodes - len(folders))):
        # Round-robin over the folders, deepest first, so every folder level
        # (and so depth `depth`) holds scripts.
        home = folders[len(folders) - 1 - (j % len(folders))] if folders else None
        scripts.append(
            Script(
                id=uuid.uuid4(),
                owner_id=owner_id,
                folder_id=home.id if home else None,
                parent_key=parent_key(home.id if home else None),
                name=f"script-{j}.py",
                language=Language.PYTHON,
                version=1,
            )
        )
    return folders, scripts


async def seed(data_dir: Path, trees: dict[str, int], depth: int) -> list[SeededTree]:
    """One user per entry of `trees` (username -> nodes), each with a tree
    of that many nodes, `depth` levels deep."""
    async with db.opened(database_url(data_dir), migrate_first=True):
        store = create_object_store(LocalStorageConfig(root=data_dir / "objects"))
        await store.ensure_ready()
        semaphore = asyncio.Semaphore(WRITE_CONCURRENCY)
        seeded = []
        password_hash = hash_password(PASSWORD)
        for username, nodes in trees.items():
            user = await User.create(username=username, password_hash=password_hash)
            folders, scripts = plan(user.id, nodes, depth)
            versions: list[ScriptVersion] = []

            async def put(script: Script, versions: list[ScriptVersion] = versions) -> None:
                content = f"def main(data):\n    return {{'name': {script.name!r}}}\n".encode()
                key = f"{script_prefix(script.id)}v1-{uuid.uuid4().hex[:12]}"
                async with semaphore:
                    await store.put_bytes(key, content, SCRIPT_CONTENT_TYPE)
                versions.append(
                    ScriptVersion(
                        script_id=script.id,
                        version=1,
                        sha256=hashlib.sha256(content).hexdigest(),
                        size=len(content),
                        storage_key=key,
                    )
                )

            await asyncio.gather(*(put(script) for script in scripts))
            await Folder.bulk_create(folders, batch_size=1000)
            await Script.bulk_create(scripts, batch_size=1000)
            await ScriptVersion.bulk_create(versions, batch_size=1000)
            seeded.append(SeededTree(username, len(folders), len(scripts), depth))
        await store.close()
        return seeded
