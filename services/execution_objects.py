"""What an execution owns in object storage, and deleting it before its row.

An execution's artifacts lie under `artifacts/<id>/` and its large output
under `outputs/<id>/`; nothing else is written under those prefixes, so
deleting them deletes what the execution owns and nothing another row needs.
Every path that deletes executions (retention, deleting a script, a folder
or an account) deletes these objects first and the rows after: a process
that dies in between leaves rows whose objects are gone, which readers
answer as missing and the next deletion removes, never objects no row knows.
A run that ends after its rows went can still leave objects behind; the
orphan sweep (services/orphan_sweep.py) finds those."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.queryset import QuerySet

from models.executions import Execution
from models.files import Artifact
from services.executions.output_archive import output_prefix
from services.files import artifact_prefix
from storage import ObjectStore

# Ids per IN (...) list: below every database's limit on one statement's parameters.
ID_CHUNK = 500


def execution_prefixes(execution_id: object) -> tuple[str, str]:
    return artifact_prefix(execution_id), output_prefix(execution_id)


async def with_objects(executions: QuerySet[Execution]) -> set[str]:
    """The ids, among the executions a queryset selects, that have objects
    (an artifact row or a stored output): the others need no storage call."""
    ids = {str(i) for i in await executions.values_list("id", flat=True)}
    found: set[str] = set()
    chunked = sorted(ids)
    for start in range(0, len(chunked), ID_CHUNK):
        chunk = chunked[start : start + ID_CHUNK]
        found.update(
            str(i)
            for i in await Artifact.filter(execution_id__in=chunk).values_list(
                "execution_id", flat=True
            )
        )
        found.update(
            str(i)
            for i in await Execution.filter(id__in=chunk, output_key__not_isnull=True).values_list(
                "id", flat=True
            )
        )
    return found


async def delete_objects_of(store: ObjectStore, execution_ids: Iterable[str]) -> None:
    """Delete everything stored under these executions' prefixes."""
    for execution_id in sorted(set(execution_ids)):
        for prefix in execution_prefixes(execution_id):
            await store.delete_prefix(prefix)


async def delete_objects_of_scripts(store: ObjectStore, script_ids: Iterable[object]) -> None:
    """The objects of every execution of these scripts (before the scripts'
    rows go, and their executions with them by cascade)."""
    ids = [str(i) for i in script_ids]
    for start in range(0, len(ids), ID_CHUNK):
        executions = Execution.filter(script_id__in=ids[start : start + ID_CHUNK])
        await delete_objects_of(store, await with_objects(executions))


async def delete_objects_of_owner(store: ObjectStore, owner_id: object) -> None:
    """The objects of every execution a user started or that ran one of
    their scripts: all of them go with the account."""
    mine = await with_objects(Execution.filter(owner_id=owner_id))
    mine |= await with_objects(Execution.filter(script__owner_id=owner_id))
    await delete_objects_of(store, mine)
