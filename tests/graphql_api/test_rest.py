"""POST /api/v1/scripts/{path}: the seed's shape, over plain HTTP."""

from __future__ import annotations

import pytest

from tests.support.client import GraphQLClient
from tests.support.servers import Service
from tests.support.tree import folder, script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)


async def test_run_by_path_returns_the_seed_shape(alice: GraphQLClient) -> None:
    geology = await folder(alice, "geology")
    await script(
        alice,
        "analysis.py",
        "def main(data):\n    return {'twice': data['n'] * 2}\n",
        geology["id"],
    )
    response = await alice.http.post(
        f"{alice.base_url}/api/v1/scripts/geology/analysis.py",
        json={"data": {"n": 21}},
        headers=alice.headers(),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["result"] == {"twice": 42}
    assert isinstance(body["execution_time"], float)
    assert body["execution_id"]


async def test_failures_use_the_graphql_codes(alice: GraphQLClient) -> None:
    await script(alice, "boom.py", "def main(data):\n    raise KeyError('x')\n")
    url = f"{alice.base_url}/api/v1/scripts"
    no_token = await alice.http.post(f"{url}/boom.py", json={"data": {}})
    assert (no_token.status_code, no_token.json()["error"]["code"]) == (401, "UNAUTHENTICATED")
    missing = await alice.http.post(f"{url}/nope.py", json={"data": {}}, headers=alice.headers())
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NOT_FOUND")
    bad_json = await alice.http.post(
        f"{url}/boom.py", content=b"{not json", headers=alice.headers()
    )
    assert (bad_json.status_code, bad_json.json()["error"]["code"]) == (400, "BAD_USER_INPUT")
    failed = await alice.http.post(f"{url}/boom.py", json={"data": {}}, headers=alice.headers())
    body = failed.json()
    assert failed.status_code == 422
    assert body["success"] is False
    assert body["error"]["code"] == "SCRIPT_ERROR"
    assert "KeyError" in body["error"]["message"]


async def test_a_run_by_path_goes_to_the_worker_its_target_names(
    alice: GraphQLClient, service: Service
) -> None:
    await script(alice, "placed.py", "def main(data):\n    return data\n")
    url = f"{alice.base_url}/api/v1/scripts/placed.py"
    worker = service.settings.worker_name
    placed = await alice.http.post(
        url, json={"data": {"n": 1}, "target": worker}, headers=alice.headers()
    )
    assert (placed.status_code, placed.json()["result"]) == (200, {"n": 1}), placed.text
    ran = await alice.data(
        "query($id: ID!) { execution(id: $id) { target worker } }",
        {"id": placed.json()["execution_id"]},
    )
    assert ran["execution"] == {"target": worker, "worker": worker}
    for bad in ("two words", 7):
        refused = await alice.http.post(
            url, json={"data": {}, "target": bad}, headers=alice.headers()
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "BAD_USER_INPUT")
