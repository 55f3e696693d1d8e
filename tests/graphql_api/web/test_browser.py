"""GraphiQL and the web page in headless Chromium against the real service:
log in, load the tree, run a script and watch its output arrive live. The
browser resolves no host name, and every request must go to 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.graphql_api.web.page import editor_text, log_in, open_script, type_in_editor
from tests.support.chromium import Browser, Page
from tests.support.client import GraphQLClient, registered
from tests.support.runs import TERMINAL
from tests.support.tree import SCRIPT_BY_ID, folder, script

# One storage backend is enough here: the API tests cover both.
pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

COUNTING = (
    "import time\n"
    "def main(data):\n"
    "    for i in range(data['n']):\n"
    '        print(f\'{data.get("word", "line")} {i}\', flush=True)\n'
    "        time.sleep(data.get('pause', 0))\n"
    "    return {'printed': data['n']}\n"
)

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESULT = "document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"


def assert_stayed_local(page: Page) -> None:
    assert page.hosts() == {"127.0.0.1"}, [r["url"][:120] for r in page.requests]
    assert not page.failed, page.failed


async def set_graphiql_query(page: Page, text: str, operation: str) -> None:
    await page.type(QUERY_EDITOR, text)
    # GraphiQL parses the editor's text shortly after typing: a person never
    # clicks run within those milliseconds, so wait for it as they would.
    await page.wait_for(
        f"document.querySelector({json.dumps(QUERY_EDITOR)}).CodeMirror"
        f".documentAST?.definitions?.[0]?.operation === {json.dumps(operation)}",
        timeout=10,
    )


async def run_in_graphiql(page: Page, expect: str) -> dict[str, Any]:
    await page.evaluate(
        "document.querySelector('.result-window .CodeMirror').CodeMirror.setValue('')"
    )
    await page.click(".graphiql-execute-button")
    text = await page.wait_for(f"{RESULT}.includes({json.dumps(expect)}) && {RESULT}")
    result: dict[str, Any] = json.loads(text)
    return result


async def test_graphiql_works_offline_with_a_query_and_a_live_subscription(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Any
) -> None:
    await script(alice, "count.py", COUNTING)
    async with browser.page() as page:
        await page.goto(f"{service_url}/graphql")
        await page.wait_for(f"document.querySelector({json.dumps(QUERY_EDITOR)})")
        assert await page.evaluate("typeof GraphiQL") == "function"

        await page.click('.graphiql-editor-tools button[data-name="headers"]')
        await page.type(HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {alice.token}"}))

        await set_graphiql_query(page, "{ me { username } }", "query")
        me = await run_in_graphiql(page, "username")
        assert me == {"data": {"me": {"username": alice.user["username"]}}}  # type: ignore[attr-defined]

        await set_graphiql_query(
            page,
            'mutation { runScript(input: {path: "count.py", input: {n: 10, pause: 0.5}})'
            " { id status } }",
            "mutation",
        )
        run = await run_in_graphiql(page, "runScript")
        execution_id = run["data"]["runScript"]["id"]

        await set_graphiql_query(
            page,
            f'subscription {{ executionUpdates(executionId: "{execution_id}") '
            "{ seq status stream data execution { status result } } }",
            "subscription",
        )
        await page.click(".graphiql-execute-button")
        # GraphiQL shows the latest event: watch it change as output arrives.
        shown: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + 60
        while not shown or shown[-1]["status"] != "SUCCEEDED":
            assert asyncio.get_running_loop().time() < deadline, shown
            text = await page.evaluate(RESULT)
            if text.strip():
                body = json.loads(text)
                assert not body.get("errors"), body
                event = body["data"]["executionUpdates"]
                if not shown or shown[-1] != event:
                    shown.append(event)
            await asyncio.sleep(0.03)
        await page.screenshot(artifact_path)
        sockets = [r["url"] for r in page.requests if r["method"] == "WEBSOCKET"]

    seqs = [event["seq"] for event in shown]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    lines = [event["data"] for event in shown if event["stream"] == "STDOUT"]
    assert len(lines) >= 3, shown  # one after another, not all at the end
    assert lines == sorted(lines, key=lambda line: int(line.split()[1])), lines
    assert shown[-1]["execution"] == {"status": "SUCCEEDED", "result": {"printed": 10}}
    assert sockets == [f"{service_url.replace('http', 'ws')}/graphql"]
    assert_stayed_local(page)


def tree_requests(page: Page) -> list[dict[str, Any]]:
    return [r for r in page.requests if r["body"] and "ScriptboxTree" in r["body"]]


async def test_web_page_edits_saves_and_runs_a_script_with_live_output(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Any
) -> None:
    geology = await folder(alice, "geology")
    deep = await folder(alice, "deep", geology["id"])
    created = await script(alice, "count.py", COUNTING, deep["id"])
    await script(alice, "notes.sh", "echo notes\n")
    edited = COUNTING.replace('"line"', '"step"')
    assert edited != COUNTING

    async with browser.page() as page:
        await log_in(page, service_url, alice)
        tree = await page.evaluate("document.querySelector('#tree').innerText")
        for name in ("geology", "deep", "count.py", "notes.sh"):
            assert name in tree
        assert len(tree_requests(page)) == 1  # the whole tree in one request

        await open_script(page, "geology/deep/count.py")
        assert await editor_text(page) == COUNTING

        await type_in_editor(page, edited)
        await page.wait_for(
            "document.querySelector('#save-state').textContent === 'Unsaved changes'"
        )
        await page.click("#save")
        await page.wait_for(
            "document.querySelector('#save-state').textContent === 'Saved as version 2'"
        )
        saved = (await alice.data(SCRIPT_BY_ID, {"id": created["id"]}))["script"]
        assert (saved["version"], saved["content"]) == (2, edited)

        await page.type("#input", '{"n": 6, "pause": 0.4}')
        await page.click("#run")
        # Watch the page while it runs: output must appear line by line.
        snapshots: list[tuple[str, str]] = []
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            state = await page.evaluate(
                "[document.querySelector('#status').dataset.status,"
                " document.querySelector('#output').textContent]"
            )
            snapshots.append((state[0], state[1]))
            if state[0] in TERMINAL:
                break
            assert asyncio.get_running_loop().time() < deadline, snapshots[-5:]
            await asyncio.sleep(0.05)
        partial = [o for s, o in snapshots if s == "RUNNING" and 0 < o.count("\n") < 6]
        assert partial, snapshots  # seen running with only some output
        status, output = snapshots[-1]
        assert status == "SUCCEEDED"
        assert output == "".join(f"step {i}\n" for i in range(6))
        await page.wait_for(
            "document.querySelector('#outcome').textContent.includes('\"printed\": 6')"
        )
        await page.wait_for(
            "document.querySelector('#executions tbody tr[data-status=\"SUCCEEDED\"]')"
        )
        assert "SUCCEEDED" in await page.evaluate("document.querySelector('#status').textContent")
        await page.screenshot(artifact_path)

        # Errors in words: bad JSON input, then a syntax error on save.
        await page.type("#input", "{depth: 21")
        await page.click("#run")
        message = await page.wait_for(
            "!document.querySelector('#message').hidden"
            " && document.querySelector('#message').textContent"
        )
        assert message.startswith("The input is not valid JSON"), message
        await type_in_editor(page, "def main(data):\n    return (\n")
        await page.click("#save")
        message = await page.wait_for(
            "document.querySelector('#message').textContent.includes('syntax error')"
            " && document.querySelector('#message').textContent"
        )
        assert "line" in message, message
        await page.screenshot(artifact_path.with_name(artifact_path.stem + "-errors.png"))

        # The history: an older run's output comes back on demand.
        await page.click("#executions tbody tr[data-status='SUCCEEDED'] button")
        await page.wait_for(
            "document.querySelector('#status').dataset.status === 'SUCCEEDED'"
            " && document.querySelector('#output').textContent.includes('step 5')"
        )

    assert_stayed_local(page)
    assert not page.console, page.console  # no CSP violation, no script error


async def test_web_page_loads_the_deepest_tree_in_one_request(
    browser: Browser, anon: GraphQLClient, service_url: str
) -> None:
    carol = await registered(anon, "carol")
    depth = 32  # SCRIPTBOX_MAX_FOLDER_DEPTH's default
    parent: str | None = None
    path = []
    for level in range(depth):
        created = await folder(carol, f"f{level}", parent)
        parent = created["id"]
        path.append(f"f{level}")
    await script(carol, "bottom.py", "def main(data):\n    return data\n", parent)

    async with browser.page() as page:
        await log_in(page, service_url, carol)
        deepest = json.dumps(f'#tree button.script[data-path="{"/".join(path)}/bottom.py"]')
        await page.wait_for(f"document.querySelector({deepest})")
        assert len(tree_requests(page)) == 1
    assert not page.console, page.console


async def test_web_page_shows_a_failed_login_in_words(browser: Browser, service_url: str) -> None:
    async with browser.page() as page:
        await page.goto(f"{service_url}/")
        await page.type("#username", "nobody-here")
        await page.type("#password", "wrong password")
        await page.click("#login-button")
        message = await page.wait_for(
            "!document.querySelector('#message').hidden"
            " && document.querySelector('#message').textContent"
        )
        # The code's words, then the service's message (app.js describe()).
        assert message == (
            "You are not logged in, or your session has ended. Wrong username or password."
        ), message
        assert await page.evaluate("document.querySelector('#app-view').hidden")


async def test_web_page_shares_a_folder_and_shows_it_to_the_colleague(
    browser: Browser, anon: GraphQLClient, service_url: str, artifact_path: Any
) -> None:
    owner = await registered(anon, "dana")
    colleague = await registered(anon, "erin")
    lab = await folder(owner, "lab")
    await script(owner, "sq.py", "def main(data):\n    return 1\n", lab["id"])
    owner_name = owner.user["username"]  # type: ignore[attr-defined]
    colleague_name = colleague.user["username"]  # type: ignore[attr-defined]

    async with browser.page() as page:
        await log_in(page, service_url, owner)
        await page.click('#tree summary.folder[data-path="lab"] button.share')
        await page.wait_for("document.querySelector('#share-dialog').open")
        await page.type("#share-username", colleague_name)
        await page.evaluate("document.querySelector('#share-role').value = 'RUNNER'")
        await page.click("#share-form button[type=submit]")
        await page.wait_for("!document.querySelector('#share-dialog').open")
        await page.screenshot(artifact_path.with_name(artifact_path.stem + "-owner.png"))
    assert not page.console, page.console

    async with browser.page() as page:
        await log_in(page, service_url, colleague)
        await page.wait_for("document.querySelector('#shared').dataset.loaded === 'true'")
        root = "document.querySelector('#shared summary.shared-root')"
        await page.wait_for(root)
        assert await page.evaluate(f"{root}.dataset.path") == "lab"
        shown = await page.evaluate(f"{root}.textContent")
        assert owner_name in shown and "RUNNER" in shown, shown
        script_button = '#shared button.script[data-path="lab/sq.py"]'
        await page.wait_for(f"document.querySelector({json.dumps(script_button)})")
        # Not theirs to share on.
        assert await page.evaluate("document.querySelectorAll('#shared button.share').length") == 0
        await page.screenshot(artifact_path)
        assert_stayed_local(page)
    assert not page.console, page.console
