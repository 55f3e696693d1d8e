"""Nothing lost, nothing leaked in object storage: deleting a script, a
folder or an account deletes what its runs stored (artifacts, large output),
its files and its scripts' contents, and nothing another row still needs;
the orphan sweep deletes objects no row names once they are old enough, and
only those. On the local folder, S3 (moto) and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models.executions import Execution
from models.files import Artifact, StoredFile
from models.tree import ScriptVersion
from services.account_removal import delete_account
from services.execution_objects import execution_prefixes
from services.files import files_prefix
from services.retention import Retention, RetentionRules
from services.tree import script_prefix
from storage import ObjectStore
from tests.services.test_files import upload
from tests.support.client import GraphQLClient
from tests.support.runs import GET, RUN, UPDATES
from tests.support.servers import Service
from tests.support.tree import folder, script
from tests.support.ws import subscription_client

# An artifact, and more output than SCRIPTBOX_OUTPUT_INLINE_BYTES (64 KiB).
STORES = (
    "import os\n"
    "def main(data):\n"
    "    os.makedirs('/job/out', exist_ok=True)\n"
    "    open('/job/out/result.txt', 'w').write(str(data))\n"
    "    print('z' * 70000)\n"
    "    return data\n"
)
DELETE_SCRIPT = "mutation($id: ID!) { deleteScript(id: $id) }"
DELETE_FOLDER = "mutation($id: ID!) { deleteFolder(id: $id) }"


@dataclass(frozen=True)
class StoredRun:
    """An ended run and the keys of the objects it stored."""

    id: str
    keys: list[str]


async def keys_under(store: ObjectStore, *prefixes: str) -> list[str]:
    return [info.key for prefix in prefixes for info in await store.list(prefix)]


async def stored_run(
    client: GraphQLClient, store: ObjectStore, script_id: str, value: int
) -> StoredRun:
    variables = {"input": {"scriptId": script_id, "input": value, "wait": True}}
    done = (await client.data(RUN, variables))["runScript"]
    assert done["status"] == "SUCCEEDED", done
    row = await Execution.get(id=done["id"])
    [artifact] = await Artifact.filter(execution_id=row.id)
    assert row.output_key is not None
    keys = await keys_under(store, *execution_prefixes(row.id))
    assert sorted(keys) == sorted([artifact.storage_key, row.output_key])
    return StoredRun(done["id"], keys)


async def script_keys(store: ObjectStore, script_id: str) -> list[str]:
    keys = await keys_under(store, script_prefix(script_id))
    assert keys, "a saved script has its content stored"
    return keys


async def assert_gone(store: ObjectStore, keys: list[str]) -> None:
    assert [key for key in keys if await store.exists(key)] == []


async def assert_kept(store: ObjectStore, keys: list[str]) -> None:
    assert [key for key in keys if not await store.exists(key)] == []


async def test_deleting_a_script_deletes_what_its_runs_stored_and_no_more(
    service: Service, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    store = service.process.services.store
    doomed = await script(alice, "doomed.py", STORES)
    kept = await script(alice, "kept.py", STORES)
    bobs = await script(bob, "doomed.py", STORES)  # same name, other tree
    runs = [await stored_run(alice, store, doomed["id"], n) for n in range(2)]
    other = await stored_run(alice, store, kept["id"], 9)
    bobs_run = await stored_run(bob, store, bobs["id"], 7)
    contents = await script_keys(store, doomed["id"])
    kept_keys = [*other.keys, *bobs_run.keys, *await script_keys(store, kept["id"])]

    assert (await alice.data(DELETE_SCRIPT, {"id": doomed["id"]}))["deleteScript"] is True

    await assert_gone(store, [key for run in runs for key in run.keys] + contents)
    for run in runs:
        assert (await alice.data(GET, {"id": run.id}))["execution"] is None
    await assert_kept(store, kept_keys)
    still = (await alice.data(GET, {"id": other.id}))["execution"]
    assert still["stdout"].startswith("z" * 100)  # read back from storage


async def test_deleting_a_folder_deletes_what_the_runs_inside_stored(
    service: Service, alice: GraphQLClient
) -> None:
    store = service.process.services.store
    outer = await folder(alice, "doomed-lab")
    inner = await folder(alice, "raw", outer["id"])
    deep = await script(alice, "deep.py", STORES, inner["id"])
    shallow = await script(alice, "shallow.py", STORES, outer["id"])
    outside = await script(alice, "outside.py", STORES)
    doomed = [
        await stored_run(alice, store, deep["id"], 1),
        await stored_run(alice, store, shallow["id"], 2),
    ]
    spared = await stored_run(alice, store, outside["id"], 3)
    contents = [*await script_keys(store, deep["id"]), *await script_keys(store, shallow["id"])]

    assert (await alice.data(DELETE_FOLDER, {"id": outer["id"]}))["deleteFolder"] is True

    await assert_gone(store, [key for run in doomed for key in run.keys] + contents)
    await assert_kept(store, [*spared.keys, *await script_keys(store, outside["id"])])


async def test_deleting_an_account_deletes_all_it_stored_and_not_anothers(
    service: Service, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    store = service.process.services.store
    alice_id, bob_id = alice.user["id"], bob.user["id"]  # type: ignore[attr-defined]
    own = await script(alice, "mine.py", STORES)
    own_run = await stored_run(alice, store, own["id"], 1)
    assert "uploadFile" in (await upload(alice, "notes.txt", b"alice's notes"))["data"]
    [alice_file] = await StoredFile.filter(owner_id=alice_id)
    bobs = await script(bob, "bobs.py", STORES)
    bobs_run = await stored_run(bob, store, bobs["id"], 2)
    assert "uploadFile" in (await upload(bob, "notes.txt", b"bob's notes"))["data"]
    bob_keys = [
        *bobs_run.keys,
        *await script_keys(store, bobs["id"]),
        *await keys_under(store, files_prefix(bob_id)),
    ]
    alice_keys = [*own_run.keys, *await script_keys(store, own["id"]), alice_file.storage_key]

    await delete_account(store, alice.user["username"])  # type: ignore[attr-defined]

    await assert_gone(store, alice_keys)
    assert await keys_under(store, files_prefix(alice_id)) == []
    assert not await Execution.exists(id=own_run.id)
    await assert_kept(store, bob_keys)
    assert (await bob.data(GET, {"id": bobs_run.id}))["execution"]["status"] == "SUCCEEDED"


def sweeper(store: ObjectStore) -> Retention:
    return Retention(store, RetentionRules(), orphan_grace=timedelta(hours=1))


async def named_keys() -> list[str]:
    """Every key a row names, whoever's."""
    keys = [str(k) for k in await ScriptVersion.all().values_list("storage_key", flat=True)]
    keys += [str(k) for k in await StoredFile.all().values_list("storage_key", flat=True)]
    keys += [str(k) for k in await Artifact.all().values_list("storage_key", flat=True)]
    outputs = Execution.filter(output_key__not_isnull=True).values_list("output_key", flat=True)
    return keys + [str(k) for k in await outputs]


async def test_the_orphan_sweep_deletes_old_objects_no_row_names_and_only_those(
    service: Service, alice: GraphQLClient
) -> None:
    store = service.process.services.store
    alice_id = alice.user["id"]  # type: ignore[attr-defined]
    created = await script(alice, "swept.py", STORES)
    run = await stored_run(alice, store, created["id"], 5)
    assert "uploadFile" in (await upload(alice, "kept.txt", b"kept"))["data"]
    gone_execution = uuid.uuid4()
    orphans = [
        f"{execution_prefixes(gone_execution)[0]}{uuid.uuid4().hex}",
        f"{execution_prefixes(gone_execution)[1]}{uuid.uuid4().hex}.json",
        f"{execution_prefixes(run.id)[0]}{uuid.uuid4().hex}",  # its row was never written
        f"{files_prefix(alice_id)}{uuid.uuid4().hex}",
        f"{script_prefix(uuid.uuid4())}v1-{uuid.uuid4().hex[:12]}",
    ]
    for key in orphans:
        await store.put_bytes(key, b"left behind")
    named = await named_keys()
    assert run.keys[0] in named and await StoredFile.exists(owner_id=alice_id)
    present = [key for key in named if await store.exists(key)]

    # Young orphans are objects whose rows may be on their way: they stay.
    young = await sweeper(store).sweep_orphans(now=datetime.now(UTC))
    assert young is not None
    await assert_kept(store, orphans)

    later = datetime.now(UTC) + timedelta(hours=2)
    counted = await sweeper(store).sweep_orphans(now=later, dry_run=True)
    assert counted is not None and counted.objects >= len(orphans)
    await assert_kept(store, orphans)

    report = await sweeper(store).sweep_orphans(now=later)
    assert report is not None and report.objects >= len(orphans)
    await assert_gone(store, orphans)
    await assert_kept(store, present)
    again: Any = (await alice.data(GET, {"id": run.id}))["execution"]
    assert again["stdout"].startswith("z" * 100)


# Prints, then stores an artifact and large output a moment later: its
# script is deleted in between.
# What it stores (an artifact, output too large for its row) is kept when
# the run ends, which is after its script was deleted: its worker stops it
# once it sees the row gone.
STORES_LATER = (
    "import os, time\n"
    "def main(data):\n"
    "    os.makedirs('/job/out', exist_ok=True)\n"
    "    open('/job/out/late.txt', 'w').write('late')\n"
    "    print('z' * 70000)\n"
    "    print('started', flush=True)\n"
    "    time.sleep(120)\n"
    "    return data\n"
)


async def test_a_run_that_ends_after_its_script_was_deleted_leaves_nothing(
    service: Service, alice: GraphQLClient
) -> None:
    store = service.process.services.store
    created = await script(alice, "deleted-while-running.py", STORES_LATER)
    start = "mutation($id: ID!) { runScript(input: {scriptId: $id}) { id } }"
    run_id = (await alice.data(start, {"id": created["id"]}))["runScript"]["id"]
    async with subscription_client(service.url, alice.token) as client:
        events = client.events(UPDATES, {"id": run_id}, timeout=120)
        async for event in events:
            if "started" in (event["executionUpdates"]["data"] or ""):
                break
        await alice.data(DELETE_SCRIPT, {"id": created["id"]})
        assert await keys_under(store, *execution_prefixes(run_id)) == []
        statuses = [event["executionUpdates"]["status"] async for event in events]
    assert statuses and statuses[-1] == "CANCELLED", statuses
    assert await keys_under(store, *execution_prefixes(run_id)) == []
