"""The web page's editor (CodeMirror 6, served from npm copies): each
language highlighted, line numbers, Ctrl+S saves, and the server's syntax
error marked at its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.graphql_api.web.page import (
    EDITOR,
    editor_text,
    log_in,
    message,
    open_script,
    type_in_editor,
)
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.support.chromium import Browser, Page
from tests.support.client import GraphQLClient
from tests.support.tree import SCRIPT_BY_ID, script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

SOURCES = {
    "hello.py": ("def main(data):\n    return {'n': 1}\n", "def"),
    "hello.sh": ("if true; then\n  echo hi\nfi\n", "then"),
    "hello.js": ("function main(data) {\n  return { n: 1 };\n}\n", "function"),
}


async def keyword_colour(page: Page, word: str) -> list[str]:
    """The colour of `word` where it stands as a token, and of plain text."""
    colours: list[str] = await page.wait_for(
        f"""(() => {{
            const token = [...document.querySelectorAll('{EDITOR} .cm-line span')]
                .find((span) => span.textContent === {json.dumps(word)});
            if (!token) return null;
            const plain = document.querySelector('{EDITOR}');
            return [getComputedStyle(token).color, getComputedStyle(plain).color];
        }})()"""
    )
    return colours


async def error_line(page: Page) -> int:
    """The number of the line the editor marks as a syntax error."""
    line: int = await page.wait_for(
        f"""(() => {{
            const mark = document.querySelector('{EDITOR} .cm-lintRange-error');
            if (!mark) return null;
            const lines = [...document.querySelectorAll('{EDITOR} .cm-line')];
            return lines.indexOf(mark.closest('.cm-line')) + 1;
        }})()"""
    )
    return line


async def test_editor_highlights_saves_with_ctrl_s_and_marks_a_syntax_error_at_its_line(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path
) -> None:
    created = {name: await script(alice, name, text) for name, (text, _) in SOURCES.items()}
    async with browser.page() as page:
        await log_in(page, service_url, alice)
        for name, (text, keyword) in SOURCES.items():
            await open_script(page, name)
            assert await editor_text(page) == text
            token, plain = await keyword_colour(page, keyword)
            assert token != plain, (name, token)  # highlighted as its language's keyword
            numbers = await page.evaluate(
                "[...document.querySelectorAll('#editor .cm-lineNumbers .cm-gutterElement')]"
                ".filter((e) => e.style.visibility !== 'hidden').map((e) => e.textContent)"
            )
            assert numbers == [str(n) for n in range(1, text.count("\n") + 2)], numbers

        await open_script(page, "hello.py")
        edited = "def main(data):\n    return {'n': 2}\n"
        await type_in_editor(page, edited)
        await page.wait_for(
            "document.querySelector('#save-state').textContent === 'Unsaved changes'"
        )
        await page.key("s", modifiers=2)  # Ctrl+S, in the editor
        await page.wait_for(
            "document.querySelector('#save-state').textContent === 'Saved as version 2'"
        )
        saved = (await alice.data(SCRIPT_BY_ID, {"id": created["hello.py"]["id"]}))["script"]
        assert (saved["version"], saved["content"]) == (2, edited)

        broken = "def main(data):\n    x = 1\n    return (\n\nprint('after')\n"
        await type_in_editor(page, broken)
        await page.key("s", modifiers=2)
        text = await message(page)
        assert "syntax error" in text, text
        refused = await alice.execute(
            "mutation($id: ID!, $c: String!) {"
            " updateScript(id: $id, input: {content: $c}) { id } }",
            {"id": created["hello.py"]["id"], "c": broken},
        )
        expected = refused["errors"][0]["extensions"]["line"]
        assert expected > 1
        assert await error_line(page) == expected
        gutter = await page.evaluate(
            "document.querySelectorAll('#editor .cm-lint-marker-error').length"
        )
        assert gutter == 1
        await page.screenshot(artifact_path)
        saved = (await alice.data(SCRIPT_BY_ID, {"id": created["hello.py"]["id"]}))["script"]
        assert saved["version"] == 2  # nothing stored

    assert_stayed_local(page)
    assert not page.console, page.console
