"""Secret names, values and ownership (services/secrets.py) on a real SQLite.

A secret is handed to a run as an environment variable, so its name must not
shadow what the sandbox sets, its value is stored encrypted, and a run only
ever gets its own owner's secrets.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.errors import BadUserInput
from models.db import connect, disconnect, migrate
from models.secrets import Secret
from models.teams import Group, GroupMember, GroupSecret
from models.users import User
from services.access import Caller
from services.secrets import MAX_SECRET_BYTES, MissingSecrets, SecretStore, check_secret_name


def run(tmp_path: Path, body: Callable[[SecretStore, Caller, Caller], Awaitable[None]]) -> None:
    url = f"sqlite://{tmp_path / 'db.sqlite3'}"

    async def scenario() -> None:
        await migrate(url)
        await connect(url)
        try:
            alice = await User.create(id=uuid.uuid4(), username="alice", password_hash="x")
            bob = await User.create(id=uuid.uuid4(), username="bob", password_hash="x")
            await body(SecretStore("", tmp_path / "secrets.key"), Caller(alice), Caller(bob))
        finally:
            await disconnect()

    asyncio.run(scenario())


@pytest.mark.parametrize("name", ["A", "_", "API_KEY_2", "A" * 64, "SCRIPTBOX", "PATHS"])
def test_ordinary_names_pass(name: str) -> None:
    assert check_secret_name(name) == name


@pytest.mark.parametrize("name", ["", "a", "1A", "A-B", "A" * 65, "A B", "É"])
def test_malformed_names_are_refused(name: str) -> None:
    with pytest.raises(BadUserInput, match="not a valid secret name"):
        check_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["PATH", "HOME", "PYTHONPATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "SCRIPTBOX_", "SCRIPTBOX_X"],
)
def test_names_the_sandbox_sets_are_reserved(name: str) -> None:
    with pytest.raises(BadUserInput, match="reserved for the sandbox"):
        check_secret_name(name)


def test_values_are_bounded_and_not_empty(tmp_path: Path) -> None:
    async def body(store: SecretStore, alice: Caller, bob: Caller) -> None:
        assert MAX_SECRET_BYTES == 64 * 1024
        await store.set(alice, "BIG", "é" * (MAX_SECRET_BYTES // 2))
        with pytest.raises(BadUserInput, match="at most 65536 bytes"):
            await store.set(alice, "BIG", "é" * (MAX_SECRET_BYTES // 2) + "x")
        with pytest.raises(BadUserInput, match="must not be empty"):
            await store.set(alice, "EMPTY", "")
        with pytest.raises(BadUserInput, match="reserved"):
            await store.set(alice, "PATH", "x")
        assert await store.values_for(str(alice.id), ["BIG"]) == {
            "BIG": "é" * (MAX_SECRET_BYTES // 2)
        }

    run(tmp_path, body)


def test_values_are_encrypted_at_rest_and_replaced_on_set(tmp_path: Path) -> None:
    async def body(store: SecretStore, alice: Caller, bob: Caller) -> None:
        await store.set(alice, "TOKEN", "plain-value-1")
        await store.set(alice, "TOKEN", "plain-value-2")
        rows = await Secret.filter(owner_id=alice.id, name="TOKEN")
        assert len(rows) == 1 and "plain-value" not in rows[0].ciphertext
        assert await store.values_for(str(alice.id), ["TOKEN"]) == {"TOKEN": "plain-value-2"}
        assert await store.values_for(str(alice.id), []) == {}

    run(tmp_path, body)


def test_a_run_gets_only_its_owners_secrets(tmp_path: Path) -> None:
    async def body(store: SecretStore, alice: Caller, bob: Caller) -> None:
        await store.set(alice, "A_ONLY", "alice's")
        await store.set(alice, "SHARED", "alice's shared")
        await store.set(bob, "SHARED", "bob's shared")
        assert await store.values_for(str(bob.id), ["SHARED"]) == {"SHARED": "bob's shared"}
        with pytest.raises(MissingSecrets) as missing:
            await store.values_for(str(bob.id), ["SHARED", "Z_NONE", "A_ONLY"])
        assert missing.value.names == ["A_ONLY", "Z_NONE"]
        assert await store.delete(bob, "A_ONLY") is False
        assert await store.delete(alice, "A_ONLY") is True
        assert await store.delete(alice, "A_ONLY") is False
        assert await store.values_for(str(alice.id), ["SHARED"]) == {"SHARED": "alice's shared"}

    run(tmp_path, body)


def test_a_users_secrets_are_listed_by_name_and_only_theirs(tmp_path: Path) -> None:
    async def body(store: SecretStore, alice: Caller, bob: Caller) -> None:
        for name in ("ZULU", "ALPHA", "MIKE"):
            await store.set(alice, name, "v")
        await store.set(bob, "BRAVO", "v")
        alice.user.is_admin = True  # an admin too sees only their own
        assert [row.name for row in await store.list_secrets(alice)] == ["ALPHA", "MIKE", "ZULU"]
        assert [row.name for row in await store.list_secrets(bob)] == ["BRAVO"]

    run(tmp_path, body)


def test_a_changed_key_is_an_operator_error_not_garbage(tmp_path: Path) -> None:
    async def body(store: SecretStore, alice: Caller, bob: Caller) -> None:
        await store.set(alice, "TOKEN", "value")
        other = SecretStore(None, tmp_path / "another.key")
        with pytest.raises(RuntimeError, match="cannot be decrypted"):
            await other.values_for(str(alice.id), ["TOKEN"])

    run(tmp_path, body)


def test_two_first_sets_at_once_leave_one_secret(tmp_path: Path) -> None:
    async def body(store: SecretStore, alice: Caller, bob: Caller) -> None:
        # Both look the name up before either creates it: one create meets
        # the unique constraint and must update instead of failing.
        await asyncio.gather(*(store.set(alice, "RACE", f"value-{i}") for i in range(4)))
        rows = await Secret.filter(owner_id=alice.id, name="RACE")
        assert len(rows) == 1
        value = (await store.values_for(str(alice.id), ["RACE"]))["RACE"]
        assert value in {f"value-{i}" for i in range(4)}

    run(tmp_path, body)


def test_a_run_gets_its_owners_secret_first_then_a_groups(tmp_path: Path) -> None:
    async def body(store: SecretStore, alice: Caller, bob: Caller) -> None:
        beta = await Group.create(name="beta")
        alpha = await Group.create(name="alpha")
        for group, value in ((beta, "beta's"), (alpha, "alpha's")):
            await GroupMember.create(group=group, user=alice.user)
            await GroupSecret.create(group=group, name="TEAM", ciphertext=store.seal("TEAM", value))
        await GroupSecret.create(group=beta, name="BETA", ciphertext=store.seal("BETA", "b"))
        # Two groups have one: the first by name.
        assert await store.values_for(str(alice.id), ["TEAM", "BETA"]) == {
            "TEAM": "alpha's",
            "BETA": "b",
        }
        await store.set(alice, "TEAM", "alice's own")
        assert await store.values_for(str(alice.id), ["TEAM"]) == {"TEAM": "alice's own"}
        # Not a member: the group's secrets are not bob's.
        with pytest.raises(MissingSecrets) as missing:
            await store.values_for(str(bob.id), ["TEAM", "BETA"])
        assert missing.value.names == ["BETA", "TEAM"]

    run(tmp_path, body)
