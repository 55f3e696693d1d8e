"""The web page's files: upload, list, download (saved by the browser) and
delete; and the files a run wrote, downloaded from its outcome."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from tests.graphql_api.web.page import confirm, log_in, message, open_script, open_tab
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.support.chromium import Browser, Page
from tests.support.client import GraphQLClient
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

# Not text, so a download that re-encoded it would show.
CONTENT = bytes(range(256)) * 3
WRITER = (
    "def main(data):\n"
    "    with open('/job/out/table.csv', 'w') as out:\n"
    "        out.write('a,b\\n1,2\\n')\n"
    "    return 'written'\n"
)
FILES = "{ files { key size sha256 } }"


async def choose_file(page: Page, selector: str, name: str, content: bytes) -> None:
    """Put a file in a file input, as choosing it in the dialog does."""
    encoded = base64.b64encode(content).decode()
    await page.evaluate(
        f"""(() => {{
            const bytes = Uint8Array.from(atob({json.dumps(encoded)}), (c) => c.charCodeAt(0));
            const chosen = new DataTransfer();
            const type = {{ type: 'application/octet-stream' }};
            chosen.items.add(new File([bytes], {json.dumps(name)}, type));
            const input = document.querySelector({json.dumps(selector)});
            input.files = chosen.files;
            input.dispatchEvent(new Event('change', {{ bubbles: true }}));
        }})()"""
    )


def saved(folder: Path, name: str) -> bytes | None:
    """The file's bytes once the browser has finished saving it, else None."""
    target = folder / name
    if target.is_file() and not list(folder.glob("*.crdownload")):
        return target.read_bytes()
    return None


async def downloaded(folder: Path, name: str) -> bytes:
    for _ in range(600):
        content = await asyncio.to_thread(saved, folder, name)
        if content is not None:
            return content
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} was not downloaded into {folder}")


async def test_files_are_uploaded_listed_downloaded_and_deleted(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path, tmp_path: Path
) -> None:
    async with browser.page() as page:
        await page.allow_downloads(tmp_path)
        await log_in(page, service_url, alice)
        await open_tab(page, "files")
        await page.wait_for("document.querySelector('#files').dataset.loaded === 'true'")
        await choose_file(page, "#upload-file", "bytes.bin", CONTENT)
        await page.type("#upload-prefix", "data/")
        await page.click("#upload-form button[type=submit]")
        assert await message(page) == "Uploaded data/bytes.bin (768 B)."
        row = '#files tr[data-key="data/bytes.bin"]'
        await page.wait_for(f"document.querySelector({json.dumps(row)})")
        [stored] = (await alice.data(FILES))["files"]
        assert (stored["key"], stored["size"]) == ("data/bytes.bin", len(CONTENT))

        await page.click(f"{row} button.download")
        assert await downloaded(tmp_path, "bytes.bin") == CONTENT
        await page.screenshot(artifact_path)

        await page.click(f"{row} button.delete")
        assert await confirm(page) == "Delete the file data/bytes.bin?"
        await page.wait_for(f"!document.querySelector({json.dumps(row)})")
        assert (await alice.data(FILES))["files"] == []

    assert_stayed_local(page)
    assert not page.console, page.console


async def test_the_files_of_a_run_are_downloaded_from_its_outcome_and_history(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path, tmp_path: Path
) -> None:
    await script(alice, "writer.py", WRITER)
    async with browser.page() as page:
        await page.allow_downloads(tmp_path)
        await log_in(page, service_url, alice)
        await open_script(page, "writer.py")
        await page.click("#run")
        await page.wait_for("document.querySelector('#status').dataset.status === 'SUCCEEDED'")
        shown = await page.wait_for("document.querySelector('#run-files')?.textContent")
        assert shown == "Files: table.csv (8 B)", shown
        await page.click('#run-files button[data-name="table.csv"]')
        assert await downloaded(tmp_path, "table.csv") == b"a,b\n1,2\n"

        history = "#executions tbody tr[data-status='SUCCEEDED'] .artifacts button"
        await page.wait_for(f"document.querySelector({json.dumps(history)})")
        await asyncio.to_thread((tmp_path / "table.csv").unlink)
        await page.click(history)
        assert await downloaded(tmp_path, "table.csv") == b"a,b\n1,2\n"
        await page.screenshot(artifact_path)

    assert_stayed_local(page)
    assert not page.console, page.console
