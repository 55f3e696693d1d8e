"""The web page's folders: create, rename and move from the menu, move by
dragging, and delete after a confirmation that says what goes with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.graphql_api.web.page import confirm, log_in
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.support.chromium import Browser, Page
from tests.support.client import GraphQLClient
from tests.support.tree import TREE, folder, script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)


def summary(path: str) -> str:
    return f'#tree summary.folder[data-path="{path}"]'


async def wait_for_folder(page: Page, path: str) -> None:
    await page.wait_for(f"document.querySelector({json.dumps(summary(path))})")


async def drag(page: Page, source: str, target: str) -> None:
    """The events a drag and drop fires, with one DataTransfer between them
    (CDP's mouse input does not start an HTML drag in headless Chromium)."""
    await page.evaluate(
        f"""(() => {{
            const source = document.querySelector({json.dumps(source)});
            const target = document.querySelector({json.dumps(target)});
            const dataTransfer = new DataTransfer();
            const fire = (element, type) => element.dispatchEvent(
                new DragEvent(type, {{ bubbles: true, cancelable: true, dataTransfer }}));
            fire(source, 'dragstart');
            fire(target, 'dragover');
            fire(target, 'drop');
            fire(source, 'dragend');
        }})()"""
    )


async def paths(client: GraphQLClient) -> set[str]:
    found: set[str] = set()

    def walk(level: dict[str, object]) -> None:
        for item in level.get("folders", []) or []:  # type: ignore[attr-defined]
            found.add(item["path"] + "/")
            walk(item)
        for item in level.get("scripts", []) or []:  # type: ignore[attr-defined]
            found.add(item["path"])

    walk((await client.data(TREE))["tree"])
    return found


async def test_folders_are_created_renamed_moved_and_deleted_with_a_confirmation(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path
) -> None:
    lab = await folder(alice, "lab")
    await script(alice, "a.py", "def main(data):\n    return 1\n", lab["id"])
    await script(alice, "loose.py", "def main(data):\n    return 1\n")
    async with browser.page() as page:
        await log_in(page, service_url, alice)

        # Create one at the top, and one inside lab.
        await page.click("#new-folder summary")
        await page.type("#new-folder-name", "reports")
        await page.click("#new-folder-form button[type=submit]")
        await wait_for_folder(page, "reports")
        await page.evaluate(f"document.querySelector('#new-folder-parent').value = '{lab['id']}'")
        await page.type("#new-folder-name", "raw")
        await page.click("#new-folder-form button[type=submit]")
        await wait_for_folder(page, "lab/raw")

        # Rename from the menu.
        await page.click(f"{summary('reports')} button.folder-menu")
        await page.wait_for("document.querySelector('#folder-dialog').open")
        await page.type("#folder-new-name", "monthly")
        await page.click("#folder-rename-form button[type=submit]")
        await wait_for_folder(page, "monthly")

        # Move from the menu: lab into monthly (the choices leave out lab itself).
        await page.click(f"{summary('lab')} button.folder-menu")
        await page.wait_for("document.querySelector('#folder-dialog').open")
        choices = await page.evaluate(
            "[...document.querySelectorAll('#folder-move-to option')].map((o) => o.text)"
        )
        assert choices == ["(top)", "monthly"], choices
        await page.evaluate(
            "document.querySelector('#folder-move-to').value = [...document.querySelectorAll("
            "'#folder-move-to option')].find((o) => o.text === 'monthly').value"
        )
        await page.click("#folder-move-form button[type=submit]")
        await wait_for_folder(page, "monthly/lab/raw")
        assert await paths(alice) == {
            "monthly/",
            "monthly/lab/",
            "monthly/lab/raw/",
            "monthly/lab/a.py",
            "loose.py",
        }

        # Drag: lab back to the top, and loose.py into lab/raw.
        await drag(page, summary("monthly/lab"), "#tree")
        await wait_for_folder(page, "lab")
        await drag(page, '#tree button.script[data-path="loose.py"]', summary("lab/raw"))
        await page.wait_for(
            "document.querySelector('#tree button.script[data-path=\"lab/raw/loose.py\"]')"
        )
        assert await paths(alice) == {
            "monthly/",
            "lab/",
            "lab/raw/",
            "lab/a.py",
            "lab/raw/loose.py",
        }
        await page.screenshot(artifact_path.with_name(artifact_path.stem + "-moved.png"))

        # Delete: asks first, says what goes, and a "Cancel" keeps it.
        await page.click(f"{summary('lab')} button.folder-menu")
        await page.click("#folder-delete")
        await page.wait_for("document.querySelector('#confirm-dialog').open")
        question = await page.evaluate("document.querySelector('#confirm-text').textContent")
        assert question.startswith("Delete lab and everything inside it (2 scripts, 1 folder)")
        await page.screenshot(artifact_path)
        await page.click("#confirm-cancel")
        await page.wait_for("!document.querySelector('#confirm-dialog').open")
        assert "lab/" in await paths(alice)

        await page.click(f"{summary('lab')} button.folder-menu")
        await page.click("#folder-delete")
        await confirm(page)
        await page.wait_for(f"!document.querySelector({json.dumps(summary('lab'))})")
        assert await paths(alice) == {"monthly/"}

    assert_stayed_local(page)
    assert not page.console, page.console
