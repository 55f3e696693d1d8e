"""Secrets: names only through the API, encrypted at rest, env in runs, masked output."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from tests.support.client import GraphQLClient, registered
from tests.support.runs import RUN
from tests.support.servers import Service
from tests.support.tree import UPDATE_SCRIPT, script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

SET = "mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v) { name } }"
LIST = "{ secrets { name createdAt updatedAt } }"
VALUE = "s3cr3t-Value-42"

LEAKY = (
    "import os, sys, time\n"
    "def main(data):\n"
    "    value = os.environ['API_TOKEN']\n"
    "    print('token is', value)\n"
    "    for ch in value:\n"  # split across many chunks
    "        sys.stdout.write(ch); sys.stdout.flush(); time.sleep(0.01)\n"
    "    print()\n"
    "    print('in stderr', value, file=sys.stderr)\n"
    "    return {'length': len(value)}\n"
)


async def test_set_list_delete_show_names_only(alice: GraphQLClient) -> None:
    await alice.data(SET, {"n": "API_TOKEN", "v": VALUE})
    await alice.data(SET, {"n": "API_TOKEN", "v": VALUE + "-rotated"})
    listed = await alice.data(LIST)
    assert [s["name"] for s in listed["secrets"]] == ["API_TOKEN"]
    assert VALUE not in str(listed)
    deleted = await alice.data('mutation { deleteSecret(name: "API_TOKEN") }')
    assert deleted["deleteSecret"] is True
    assert (await alice.data(LIST))["secrets"] == []


@pytest.mark.parametrize(
    "name", ["lower", "1STARTS_WITH_DIGIT", "HAS-DASH", "PATH", "SCRIPTBOX_X", ""]
)
async def test_bad_secret_names(alice: GraphQLClient, name: str) -> None:
    error = await alice.error(SET, {"n": name, "v": "x"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_values_are_encrypted_at_rest(alice: GraphQLClient, service: Service) -> None:
    await alice.data(SET, {"n": "AT_REST", "v": VALUE})
    db = service.settings.data_dir / "scriptbox.sqlite3"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT ciphertext FROM secrets WHERE name = 'AT_REST'").fetchall()
    assert rows and VALUE not in rows[0][0]
    key_file = service.settings.secrets_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_run_gets_declared_secrets_as_env_and_output_is_masked(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    await alice.data(SET, {"n": "API_TOKEN", "v": VALUE})
    created = await script(alice, "leaky.py", LEAKY, secrets=["API_TOKEN"])
    done = (await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}}))[
        "runScript"
    ]
    assert done["status"] == "SUCCEEDED", done
    assert done["result"] == {"length": len(VALUE)}
    assert VALUE not in done["stdout"] and VALUE not in done["stderr"]
    assert done["stdout"] == "token is ***\n***\n"
    assert "in stderr ***" in done["stderr"]
    # Bob's secrets are his own: the same script name with his run has no value.
    error = await bob.error(SET, {"n": "API_TOKEN", "v": ""})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_missing_secret_fails_before_the_run(alice: GraphQLClient) -> None:
    created = await script(
        alice, "needs.py", "def main(data):\n    print('ran')\n", secrets=["NOT_SET_ANYWHERE"]
    )
    done = (await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}}))[
        "runScript"
    ]
    assert done["status"] == "FAILED"
    assert done["error"]["code"] == "MISSING_SECRET"
    assert "NOT_SET_ANYWHERE" in done["error"]["message"]
    assert done["stdout"] == ""


async def test_script_secrets_are_validated_and_updatable(alice: GraphQLClient) -> None:
    created = await script(alice, "s.py", "x = 1\n", secrets=["A_ONE"])
    updated = await alice.data(
        UPDATE_SCRIPT.replace("description content", "description content secrets"),
        {"id": created["id"], "input": {"secrets": ["A_ONE", "B_TWO"]}},
    )
    assert updated["updateScript"]["secrets"] == ["A_ONE", "B_TWO"]
    error = await alice.error(
        UPDATE_SCRIPT, {"id": created["id"], "input": {"secrets": ["bad name"]}}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


ECHO_SHARED = "import os\ndef main(data):\n    return {'length': len(os.environ['SHARED_NAME'])}\n"


async def test_a_run_sees_only_its_owners_secret_of_a_name(
    alice: GraphQLClient, bob: GraphQLClient, anon: GraphQLClient
) -> None:
    """Two users, one secret name, two values: each run gets its owner's value
    (told apart by length, since output masks the value itself), and a third
    user who never set it gets MISSING_SECRET although others have one."""
    values = {"alice": "a" * 11, "bob": "b" * 23}
    owners = {"alice": alice, "bob": bob}
    for who, client in owners.items():
        await client.data(SET, {"n": "SHARED_NAME", "v": values[who]})
    for who, client in owners.items():
        created = await script(client, "shared.py", ECHO_SHARED, secrets=["SHARED_NAME"])
        done = (await client.data(RUN, {"input": {"scriptId": created["id"], "wait": True}}))[
            "runScript"
        ]
        assert done["status"] == "SUCCEEDED", done
        assert done["result"] == {"length": len(values[who])}, who

    carol = await registered(anon, "carol")
    created = await script(carol, "shared.py", ECHO_SHARED, secrets=["SHARED_NAME"])
    done = (await carol.data(RUN, {"input": {"scriptId": created["id"], "wait": True}}))[
        "runScript"
    ]
    assert done["status"] == "FAILED", done
    assert done["error"]["code"] == "MISSING_SECRET"
    assert "SHARED_NAME" in done["error"]["message"]
