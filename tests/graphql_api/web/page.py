"""Helpers for the web page's panels in Chromium: log in, switch tabs, read
and type into the CodeMirror editor the way a person does."""

from __future__ import annotations

import json
from typing import Any

from tests.support.chromium import Page
from tests.support.client import PASSWORD, GraphQLClient

EDITOR = "#editor .cm-content"
# The editor's text as CodeMirror holds it (the DOM shows only what is in view).
EDITOR_TEXT = (
    "import('@codemirror/view').then((m) => m.EditorView"
    ".findFromDOM(document.querySelector('#editor .cm-editor')).state.doc.toString())"
)


async def log_in(page: Page, service_url: str, client: GraphQLClient) -> None:
    await page.goto(f"{service_url}/")
    await page.type("#username", client.user["username"])  # type: ignore[attr-defined]
    await page.type("#password", PASSWORD)
    await page.click("#login-button")
    await page.wait_for("document.querySelector('#tree').dataset.loaded === 'true'")


async def open_script(page: Page, path: str) -> None:
    await page.click(f'#tree button.script[data-path="{path}"]')
    await page.wait_for(
        f"document.querySelector('#script-path').textContent === {json.dumps(path)}"
    )
    await page.wait_for(f"{EDITOR_TEXT}.then((text) => text.length > 0)")


async def editor_text(page: Page) -> str:
    text: str = await page.evaluate(EDITOR_TEXT)
    return text


async def type_in_editor(page: Page, text: str) -> None:
    """Select everything in the editor and type `text` over it."""
    await page.type(EDITOR, text)
    await page.wait_for(f"{EDITOR_TEXT}.then((t) => t === {json.dumps(text)})")


async def open_tab(page: Page, name: str) -> None:
    await page.click(f'nav.tabs button[data-tab="{name}"]')
    await page.wait_for(f"!document.querySelector('#tab-{name}').hidden")


async def message(page: Page) -> Any:
    """The text of the message box once it shows one."""
    return await page.wait_for(
        "!document.querySelector('#message').hidden"
        " && document.querySelector('#message').textContent"
    )


async def confirm(page: Page) -> str:
    """Accept the confirmation dialog; returns what it asked."""
    await page.wait_for("document.querySelector('#confirm-dialog').open")
    question: str = await page.evaluate("document.querySelector('#confirm-text').textContent")
    await page.click("#confirm-ok")
    await page.wait_for("!document.querySelector('#confirm-dialog').open")
    return question
