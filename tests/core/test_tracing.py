"""core/tracing.py: off, OpenTelemetry is not even imported; on, it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO
from tests.support.processes import cli_environment

# What `scriptbox serve` does before it serves: observing set up, the app built.
SERVE_WITHOUT_SERVING = """
import json, sys
from core.settings import Settings
from roles.cli import observed
from roles.api import build_api_app
settings = Settings.from_env()
with observed(settings):
    build_api_app(settings)
    print(json.dumps(sorted(m for m in sys.modules if m.startswith("opentelemetry"))))
"""


def imported_otel_modules(data_dir: Path, **settings: str) -> list[str]:
    env = cli_environment(data_dir, **settings)
    done = subprocess.run(
        [sys.executable, "-c", SERVE_WITHOUT_SERVING],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


def test_opentelemetry_is_not_imported_when_tracing_is_off(tmp_path: Path) -> None:
    assert imported_otel_modules(tmp_path / "off") == []


def test_opentelemetry_is_imported_when_tracing_is_on(tmp_path: Path) -> None:
    # The counterpart that shows the check above can see an import.
    modules = imported_otel_modules(tmp_path / "on", SCRIPTBOX_OTEL_ENDPOINT="http://127.0.0.1:9")
    assert "opentelemetry.sdk.trace" in modules
