"""The web page's secrets: set and delete by name; a value is sent once and
never shown, kept in a field or sent back to the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.graphql_api.web.page import confirm, log_in, message, open_tab
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.support.chromium import Browser, Page
from tests.support.client import GraphQLClient
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

VALUE = "s3cr3t-value-7d1f"
READER = "import os\ndef main(data):\n    return os.environ['API_KEY'] == data\n"
RUN = """mutation($input: RunScriptInput!) { runScript(input: $input) { status result } }"""


async def assert_value_nowhere(page: Page) -> None:
    html = await page.evaluate("document.documentElement.outerHTML")
    fields = await page.evaluate("[...document.querySelectorAll('input')].map((i) => i.value)")
    assert VALUE not in html and VALUE not in fields


async def test_secrets_are_set_and_deleted_by_name_and_their_values_never_shown(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path
) -> None:
    reader = await script(alice, "reader.py", READER, secrets=["API_KEY"])
    row = '#secrets tr[data-name="API_KEY"]'
    async with browser.page() as page:
        await log_in(page, service_url, alice)
        await open_tab(page, "secrets")
        await page.wait_for("document.querySelector('#secrets').dataset.loaded === 'true'")
        assert await page.evaluate("document.querySelector('#secret-value').type") == "password"
        await page.type("#secret-name", "API_KEY")
        await page.type("#secret-value", VALUE)
        await page.click("#secret-form button[type=submit]")
        assert await message(page) == "Secret API_KEY set."
        await page.wait_for(f"document.querySelector({json.dumps(row)})")
        await assert_value_nowhere(page)
        await page.screenshot(artifact_path)

        # The value arrived: a run receives it.
        ran = await alice.data(
            RUN, {"input": {"scriptId": reader["id"], "input": VALUE, "wait": True}}
        )
        assert ran["runScript"] == {"status": "SUCCEEDED", "result": True}

        # Loaded again, the page has only the name.
        await page.goto(f"{service_url}/")
        await page.wait_for("document.querySelector('#tree').dataset.loaded === 'true'")
        await open_tab(page, "secrets")
        await page.wait_for(f"document.querySelector({json.dumps(row)})")
        await assert_value_nowhere(page)

        await page.click(f"{row} button.delete")
        assert (await confirm(page)).startswith("Delete the secret API_KEY?")
        await page.wait_for(f"!document.querySelector({json.dumps(row)})")
        assert (await alice.data("{ secrets { name } }"))["secrets"] == []

    assert_stayed_local(page)
    assert not page.console, page.console
