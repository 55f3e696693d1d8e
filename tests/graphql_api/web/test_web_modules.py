"""The web page's ES modules: copied from npm with every transitive import
named by the import map, and the page's inline import map admitted by the
Content-Security-Policy's hash (and nothing else inline)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest

from graphql_api import web, web_modules
from tests.support.paths import REPO

NODE_MODULES = REPO / "web" / "node_modules"
SETUP_HINT = "run scripts/setup-web-assets.sh (make test runs it)"


def import_map() -> dict[str, str]:
    assert web.IMPORT_MAP_FILE.is_file(), SETUP_HINT
    imports: dict[str, str] = json.loads(web.IMPORT_MAP_FILE.read_text())["imports"]
    return imports


def test_every_bare_import_of_the_page_and_its_modules_is_mapped() -> None:
    mapped = import_map()
    sources = list(web.STATIC_DIR.glob("*.js")) + list(web.MODULES_DIR.rglob("*.js"))
    seen: set[str] = set()
    for source in sources:
        for specifier in web_modules.imports_of(source.read_text(encoding="utf-8")):
            if web_modules.is_bare(specifier):
                assert specifier in mapped, f"{source} imports {specifier}, which is not mapped"
                seen.add(specifier)
    # The transitive ones too, which nobody listed.
    assert {"@lezer/highlight", "style-mod", "w3c-keyname", "crelt", "@lezer/lr"} <= seen
    for url in mapped.values():
        assert url.startswith(web.MODULES_PREFIX)
        assert (web.MODULES_DIR / url.removeprefix(web.MODULES_PREFIX)).is_file(), url


def test_relative_imports_of_the_copied_modules_are_copied_too() -> None:
    for source in web.MODULES_DIR.rglob("*.js"):
        for specifier in web_modules.imports_of(source.read_text(encoding="utf-8")):
            if not web_modules.is_bare(specifier):
                assert (source.parent / specifier).resolve().is_file(), (source, specifier)


def test_imports_are_read_from_import_and_export_lines_only() -> None:
    source = (
        'import { a } from "x";\nexport { b } from "./y.js"\nimport "z";\n'
        "import {\n  c,\n  d\n} from '@s/p';\n"
        ' * e.g. import { nope } from "comment"\nconst s = "import q from \'string\'";\n'
    )
    assert web_modules.imports_of(source) == ["x", "./y.js", "z", "@s/p"]


def test_specifiers_resolve_through_exports_conditions_and_patterns(tmp_path: Path) -> None:
    modules = tmp_path / "node_modules"
    package = modules / "@s" / "p"
    (package / "esm").mkdir(parents=True)
    (package / "mode").mkdir()
    (package / "package.json").write_text(
        json.dumps(
            {
                "name": "@s/p",
                "version": "1.2.3",
                "exports": {
                    ".": {"require": "./cjs.js", "import": {"default": "./esm/index.js"}},
                    "./mode/*": {"import": "./mode/*.js"},
                },
            }
        )
    )
    (package / "esm" / "index.js").write_text('import { x } from "./inner.js";\n')
    (package / "esm" / "inner.js").write_text("export const x = 1;\n")
    (package / "mode" / "shell.js").write_text("export const shell = 1;\n")
    assert web_modules.resolve("@s/p", tmp_path, modules)[1] == package / "esm" / "index.js"
    assert web_modules.resolve("@s/p/mode/shell", tmp_path, modules)[1] == (
        package / "mode" / "shell.js"
    )
    with pytest.raises(web_modules.ModuleError):
        web_modules.resolve("@s/p/other", tmp_path, modules)
    with pytest.raises(web_modules.ModuleError):
        web_modules.resolve("absent", tmp_path, modules)


def test_two_installed_copies_of_one_package_are_reported(tmp_path: Path) -> None:
    """CodeMirror breaks quietly with two @codemirror/state instances."""
    modules = tmp_path / "node_modules"

    def package(folder: Path, name: str, version: str, source: str) -> None:
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(
            json.dumps({"name": name, "version": version, "module": "index.js"})
        )
        (folder / "index.js").write_text(source)

    package(modules / "a", "a", "1.0.0", 'import "shared";\n')
    package(modules / "b", "b", "1.0.0", 'import "shared";\n')
    package(modules / "shared", "shared", "2.0.0", "")
    package(modules / "b" / "node_modules" / "shared", "shared", "1.0.0", "")
    found = web_modules.collect(modules, "/m/", entries=("a", "b"))
    assert len(found.problems) == 1 and "shared: two copies installed" in found.problems[0]
    clean = web_modules.collect(modules, "/m/", entries=("a",))
    assert clean.problems == []
    assert clean.imports == {"a": "/m/a@1.0.0/index.js", "shared": "/m/shared@2.0.0/index.js"}


@pytest.mark.parametrize("service", ["local"], indirect=True)
async def test_the_page_admits_its_import_map_by_hash_and_styles_by_a_fresh_nonce(
    service_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=service_url) as http:
        first, second = await http.get("/"), await http.get("/")
    [inline] = re.findall(r'<script type="importmap">(.*?)</script>', first.text, re.S)
    assert json.loads(inline) == {"imports": import_map()}
    policy = first.headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert "unsafe-inline" not in policy
    [nonce] = re.findall(r"'nonce-([^']+)'", policy)
    assert f'<meta name="scriptbox-style-nonce" content="{nonce}"' in first.text
    assert nonce not in second.headers["content-security-policy"]
    assert len(re.findall(r"<script\b", first.text)) == 2  # the map and app.js, no other
