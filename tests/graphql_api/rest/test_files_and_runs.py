"""Files in and out over REST: upload, describe, download, delete; a run by
path that takes files (`files`, and the seed's `data.file_key`) and answers
its artifacts. On each storage and database."""

from __future__ import annotations

from tests.services.test_files import stored_objects
from tests.support.client import GraphQLClient
from tests.support.rest import FILE_SCRIPT, detail, upload_file, upload_script
from tests.support.servers import Service

EXECUTIONS = "{ executions(first: 100) { id inputFiles } }"


async def test_upload_describe_download_delete(alice: GraphQLClient, bob: GraphQLClient) -> None:
    base, headers = alice.base_url, alice.headers()
    data = b"depth,value\n1,2\n" * 100
    stored = await upload_file(alice.http, base, alice.token, "cores.csv", data, "test")
    assert (stored.status_code, stored.json()) == (
        200,
        {"key": "test/cores.csv", "size": len(data)},
    )
    info = await alice.http.get(f"{base}/api/v1/files/test/cores.csv/info", headers=headers)
    assert info.json() == {"key": "test/cores.csv", "size": len(data), "content_type": "text/plain"}
    got = await alice.http.get(f"{base}/api/v1/files/test/cores.csv", headers=headers)
    assert (got.status_code, got.content) == (200, data)

    # The seed's caller uploads the same name again: it replaces, unless told not to.
    again = await upload_file(alice.http, base, alice.token, "cores.csv", b"new", "test")
    assert again.json() == {"key": "test/cores.csv", "size": 3}
    kept = await alice.http.post(
        f"{base}/api/v1/files/upload",
        params={"prefix": "test", "replace": "false"},
        headers=headers,
        files={"file": ("cores.csv", b"newer")},
    )
    assert (kept.status_code, detail(kept)["code"]) == (409, "ALREADY_EXISTS")

    escaped = await upload_file(alice.http, base, alice.token, "../../x.txt", b"x", "../up")
    assert ".." not in escaped.json()["key"].split("/")
    assert escaped.json()["key"].endswith("up/x.txt")

    for method, path in [
        ("GET", "/api/v1/files/test/cores.csv"),
        ("GET", "/api/v1/files/test/cores.csv/info"),
        ("DELETE", "/api/v1/files/test/cores.csv"),
    ]:
        denied = await bob.http.request(method, f"{base}{path}", headers=bob.headers())
        assert (denied.status_code, detail(denied)["code"]) == (404, "NOT_FOUND"), path

    deleted = await alice.http.delete(f"{base}/api/v1/files/test/cores.csv", headers=headers)
    assert deleted.status_code == 200
    gone = await alice.http.get(f"{base}/api/v1/files/test/cores.csv", headers=headers)
    assert (gone.status_code, detail(gone)["code"]) == (404, "NOT_FOUND")


async def test_a_run_takes_files_and_answers_its_artifacts(alice: GraphQLClient) -> None:
    base, headers = alice.base_url, alice.headers()
    made = await upload_script(alice.http, base, alice.token, "upper.py", FILE_SCRIPT)
    assert made.status_code == 201, made.text
    stored = await upload_file(alice.http, base, alice.token, "in.txt", b"a\nb\nc\n", "test")
    key = stored.json()["key"]

    ran = await alice.http.post(
        f"{base}/api/v1/scripts/upper.py", headers=headers, json={"data": {"file_key": key}}
    )
    assert ran.status_code == 200, ran.text
    body = ran.json()
    assert (body["success"], body["result"]) == (True, {"lines": 3})
    [artifact] = body["artifacts"]
    assert (artifact["name"], artifact["size"]) == ("result.txt", 6)
    assert artifact["key"] == f"{body['execution_id']}/result.txt"
    result = await alice.http.get(f"{base}{artifact['url']}", headers=headers)
    assert (result.status_code, result.content) == (200, b"A\nB\nC\n")

    # `files` as runScript takes them, with the key also in the data: copied once.
    both = await alice.http.post(
        f"{base}/api/v1/scripts/upper.py",
        headers=headers,
        json={"data": {"file_key": key}, "files": [key]},
    )
    assert both.json()["success"] is True
    runs = (await alice.data(EXECUTIONS))["executions"]
    assert [run["inputFiles"] for run in runs] == [[key], [key]]


async def test_another_users_file_key_is_not_found_and_nothing_runs(
    alice: GraphQLClient, bob: GraphQLClient, service: Service
) -> None:
    base = alice.base_url
    secret = await upload_file(alice.http, base, alice.token, "secret.txt", b"secret\n", "test")
    key = secret.json()["key"]
    made = await upload_script(bob.http, base, bob.token, "upper.py", FILE_SCRIPT)
    assert made.status_code == 201
    before = await stored_objects(service, "artifacts/")

    for body in ({"data": {"file_key": key}}, {"data": {}, "files": [key]}):
        refused = await bob.http.post(
            f"{base}/api/v1/scripts/upper.py", headers=bob.headers(), json=body
        )
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"]["code"] == "NOT_FOUND"
    assert (await bob.data(EXECUTIONS))["executions"] == []
    assert await stored_objects(service, "artifacts/") == before

    for bad in ({"data": {"file_key": 5}}, {"data": {}, "files": "test/secret.txt"}):
        refused = await bob.http.post(
            f"{base}/api/v1/scripts/upper.py", headers=bob.headers(), json=bad
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "BAD_USER_INPUT")
