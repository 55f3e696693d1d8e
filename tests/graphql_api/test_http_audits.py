"""The GraphQL-over-HTTP spec's audit suite (npm graphql-http's
`serverAudits`, run by node: web/audits/graphql-http.mjs) against the served
process: every audit, warnings included, must be `ok`."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.paths import REPO
from tests.support.processes import ServiceProcess, cli_environment

AUDITS = REPO / "web" / "audits" / "graphql-http.mjs"
SETUP_HINT = "run scripts/setup-web-assets.sh (make test runs it)"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    process = ServiceProcess(cli_environment(tmp_path_factory.mktemp("http-audits"))).start()
    try:
        yield process
    finally:
        process.stop()


def test_every_graphql_over_http_audit_passes(served: ServiceProcess) -> None:
    node = shutil.which("node")
    assert node, f"node is missing: {SETUP_HINT}"
    assert (REPO / "web" / "node_modules" / "graphql-http").is_dir(), SETUP_HINT
    finished = subprocess.run(
        [node, str(AUDITS), f"{served.url}/graphql"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    results = [json.loads(line) for line in finished.stdout.splitlines()]
    assert len(results) >= 61  # the suite of graphql-http 1.23.1 (web/package.json)
    failing = [r for r in results if r["status"] != "ok"]
    assert failing == [], json.dumps(failing, indent=2)
