"""`scriptbox delete-user` against the served process in both shapes: the
account goes with its scripts, runs, files and what they stored (the local
object store under the data dir), and another user's stay untouched."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.roles.served.conftest import Served
from tests.roles.served.test_files_and_artifacts import upload
from tests.support.client import GraphQLClient
from tests.support.paths import REPO
from tests.support.runs import GET, RUN
from tests.support.tree import script

STORES = (
    "import os\n"
    "def main(data):\n"
    "    os.makedirs('/job/out', exist_ok=True)\n"
    "    open('/job/out/result.txt', 'w').write(str(data))\n"
    "    print('z' * 70000)\n"
    "    return data\n"
)


async def stored_run(client: GraphQLClient, name: str) -> str:
    created = await script(client, name, STORES)
    variables = {"input": {"scriptId": created["id"], "input": 1, "wait": True}}
    done = (await client.data(RUN, variables))["runScript"]
    assert done["status"] == "SUCCEEDED", done
    return str(done["id"])


def objects_of(objects: Path, *names: str) -> list[str]:
    """Stored objects whose key has one of these ids as a segment."""
    return [
        str(path.relative_to(objects))
        for path in objects.rglob("*")
        if path.is_file() and set(names) & set(path.relative_to(objects).parts)
    ]


async def delete_user(served: Served, username: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "roles.cli", "delete-user", username, "--yes"],
        env=served.processes[0].env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_delete_user_removes_the_account_and_all_it_stored(
    served: Served, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    objects = Path(served.processes[0].env["SCRIPTBOX_DATA_DIR"]) / "objects"
    alice_id, bob_id = alice.user["id"], bob.user["id"]  # type: ignore[attr-defined]
    alice_run = await stored_run(alice, "hers.py")
    bob_run = await stored_run(bob, "his.py")
    await upload(alice, "notes.txt", b"hers", prefix="docs")
    await upload(bob, "notes.txt", b"his", prefix="docs")
    hers = objects_of(objects, alice_id, alice_run)
    his = objects_of(objects, bob_id, bob_run)
    # Her file, her run's artifact and stored output (her script's content
    # lies under its own id); the local store keeps each beside its metadata.
    assert len(hers) == len(his) == 6, (hers, his)

    done = await delete_user(served, alice.user["username"])  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr
    assert "deleted user" in done.stdout

    assert [key for key in hers if (objects / key).exists()] == []
    assert [key for key in his if not (objects / key).exists()] == []
    refused = await alice.error("{ me { id } }")
    assert refused["extensions"]["code"] == "UNAUTHENTICATED"
    kept = (await bob.data(GET, {"id": bob_run}))["execution"]
    assert kept["status"] == "SUCCEEDED" and kept["stdout"].startswith("z" * 100)
    again = await delete_user(served, alice.user["username"])  # type: ignore[attr-defined]
    assert again.returncode == 1 and "No user" in again.stderr
