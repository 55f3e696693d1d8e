"""The browser side: the web page at `/`, the static files under `/static`,
and GraphiQL served from local copies of its assets.

Strawberry renders GraphiQL from a template that loads React, GraphiQL and
its plugin from unpkg.com. `scripts/setup-web-assets.sh` installs the same
packages at the same versions from npm (web/package.json) and copies the
files the template names into `static/vendor/<package>@<version>/<path>`
(gitignored); `graphiql_html` then points each CDN URL at its local copy,
keeping the CDN only for a file that is absent. The template's `integrity`
hashes stay, so a local file must be byte for byte the one the CDN serves.
The REST API's page (`/api/v1/docs`) loads Swagger UI the same way, from
`static/vendor/swagger-ui-dist/` (API_DOCS_FILES), copied by the same step,
and the web page's ES modules (CodeMirror, diff) from `static/vendor/modules/`
with the import map `web_modules` writes beside them, inlined in the page.

    python -m graphql_api.web vendor web/node_modules   # what the set-up runs
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import re
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from strawberry.http.ides import get_graphql_ide_html

from core.settings import Settings
from graphql_api.web_modules import vendor_modules

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
STATIC_PREFIX = "/static"
VENDOR_PREFIX = f"{STATIC_PREFIX}/vendor/"

# https://unpkg.com/<package>@<version>/<path>, the package possibly scoped.
_CDN_URL = re.compile(
    r"https://unpkg\.com/(?P<package>(?:@[A-Za-z0-9._-]+/)?[A-Za-z0-9._-]+)"
    r"@(?P<version>[A-Za-z0-9._+-]+)/(?P<path>[A-Za-z0-9._/-]+)"
)

# The page at `/` runs only its own scripts and talks only to this origin
# ('self' covers ws:// and wss:// to the same host).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

# The page's ES modules and their import map (see web_modules).
MODULES_DIR = VENDOR_DIR / "modules"
MODULES_PREFIX = f"{VENDOR_PREFIX}modules/"
IMPORT_MAP_FILE = MODULES_DIR / "importmap.json"

# Swagger UI's files for the REST API page, from the npm package of that name.
API_DOCS_PACKAGE = "swagger-ui-dist"
API_DOCS_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
API_DOCS_VENDOR_DIR = VENDOR_DIR / API_DOCS_PACKAGE

# Fields above the folders: tree { folders { ... } } and a script's fields.
_QUERY_DEPTH_MARGIN = 4


@dataclass(frozen=True)
class Asset:
    """One file the GraphiQL template loads from the CDN."""

    url: str
    package: str
    version: str
    path: str

    @property
    def local_path(self) -> Path:
        return VENDOR_DIR / f"{self.package}@{self.version}" / self.path

    @property
    def local_url(self) -> str:
        return f"{VENDOR_PREFIX}{self.package}@{self.version}/{self.path}"


def cdn_assets(template: str) -> list[Asset]:
    """The CDN files a GraphiQL template names, in order, without repeats."""
    assets: dict[str, Asset] = {}
    for match in _CDN_URL.finditer(template):
        path = match["path"]
        if ".." in path.split("/"):
            continue
        assets.setdefault(match[0], Asset(match[0], match["package"], match["version"], path))
    return list(assets.values())


def graphiql_html(template: str | None = None) -> str:
    """Strawberry's GraphiQL page, loading each asset from this service when
    its local copy exists and from the CDN otherwise."""
    if template is None:
        template = get_graphql_ide_html(graphql_ide="graphiql")
    for asset in cdn_assets(template):
        if asset.local_path.is_file():
            template = template.replace(asset.url, asset.local_url)
    return template


def missing_assets(template: str | None = None) -> list[Asset]:
    """The template's assets that would still come from the CDN."""
    if template is None:
        template = get_graphql_ide_html(graphql_ide="graphiql")
    return [a for a in cdn_assets(template) if not a.local_path.is_file()]


def vendor(node_modules: Path, template: str | None = None) -> list[str]:
    """Copy the template's assets from an npm install into VENDOR_DIR.

    Returns one line per asset that could not be copied (package not
    installed, or at another version than the template's)."""
    if template is None:
        template = get_graphql_ide_html(graphql_ide="graphiql")
    problems: list[str] = []
    wanted: set[Path] = set()
    for asset in cdn_assets(template):
        package_dir = node_modules / asset.package
        try:
            installed = json.loads((package_dir / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            problems.append(f"{asset.package}: not installed in {node_modules}")
            continue
        if installed != asset.version:
            problems.append(
                f"{asset.package}: {installed} installed, the GraphiQL template wants "
                f"{asset.version} (update web/package.json)"
            )
            continue
        source = package_dir / asset.path
        if not source.is_file():
            problems.append(f"{asset.package}@{asset.version}: no file {asset.path}")
            continue
        target = asset.local_path
        wanted.add(target)
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    problems += _vendor_api_docs(node_modules, wanted)
    modules, module_problems = vendor_modules(node_modules, MODULES_DIR, MODULES_PREFIX)
    wanted |= modules
    problems += module_problems
    # Leave only what the template names (older versions go).
    if VENDOR_DIR.is_dir():
        for stale in sorted(VENDOR_DIR.rglob("*"), reverse=True):
            if stale.is_file() and stale not in wanted:
                stale.unlink()
            elif stale.is_dir() and not any(stale.iterdir()):
                stale.rmdir()
    return problems


def _vendor_api_docs(node_modules: Path, wanted: set[Path]) -> list[str]:
    """Copy Swagger UI's files (the version web/package.json pins)."""
    problems: list[str] = []
    for name in API_DOCS_FILES:
        source = node_modules / API_DOCS_PACKAGE / name
        if not source.is_file():
            problems.append(f"{API_DOCS_PACKAGE}: no file {name} in {node_modules}")
            continue
        target = API_DOCS_VENDOR_DIR / name
        wanted.add(target)
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return problems


def tree_depth(settings: Settings) -> int:
    """How many folder levels the page's one tree query asks for."""
    return max(1, min(settings.max_folder_depth, settings.max_query_depth - _QUERY_DEPTH_MARGIN))


def import_map_script() -> str:
    """The text of the page's `<script type="importmap">`: the vendored map,
    or an empty one before the set-up ran (the editor then cannot load)."""
    try:
        imports = json.loads(IMPORT_MAP_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        imports = {"imports": {}}
    # "</" could end the script element early; JSON reads "<\/" the same.
    return json.dumps(imports, sort_keys=True).replace("</", "<\\/")


def page_headers(inline_script: str, style_nonce: str) -> dict[str, str]:
    """PAGE_HEADERS, allowing the one inline script (the import map, which
    a browser reads only inline) by its hash, and the `<style>` elements
    that carry this response's nonce: CodeMirror writes its theme into one
    (EditorView.cspNonce) because style-mod adopts style sheets only in a
    shadow root. No other inline script or style applies."""
    digest = base64.b64encode(hashlib.sha256(inline_script.encode()).digest()).decode()
    policy = (
        PAGE_HEADERS["Content-Security-Policy"]
        .replace("script-src 'self'", f"script-src 'self' 'sha256-{digest}'")
        .replace("style-src 'self'", f"style-src 'self' 'nonce-{style_nonce}'")
    )
    return {**PAGE_HEADERS, "Content-Security-Policy": policy}


def routes(settings: Settings) -> list[BaseRoute]:
    """`/` (the web page) and `/static` (its files and the vendored assets)."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{TREE_DEPTH}}", html.escape(str(tree_depth(settings))))
    import_map = import_map_script()
    page = page.replace("{{IMPORT_MAP}}", import_map)

    async def index(request: Request) -> Response:
        # A fresh nonce per response, so a page's nonce says nothing about another's.
        nonce = secrets.token_urlsafe(18)
        return Response(
            page.replace("{{STYLE_NONCE}}", nonce),
            media_type="text/html; charset=utf-8",
            headers=page_headers(import_map, nonce),
        )

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graphql_api.web")
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser(
        "vendor", help="copy GraphiQL's assets and the page's modules from node_modules"
    )
    copy.add_argument("node_modules", type=Path)
    commands.add_parser(
        "missing",
        help="list GraphiQL assets that would come from the CDN, and a missing import map",
    )
    args = parser.parse_args(argv)
    if args.command == "vendor":
        problems = vendor(args.node_modules)
        for line in problems:
            print(f"vendor: {line}", file=sys.stderr)
        return 1 if problems else 0
    missing = [asset.url for asset in missing_assets()]
    if not IMPORT_MAP_FILE.is_file():
        missing.append(str(IMPORT_MAP_FILE))
    for name in missing:
        print(name)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
