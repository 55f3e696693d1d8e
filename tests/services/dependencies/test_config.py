"""The dependency settings: read from the environment by core/settings.py
alone, with the documented defaults, and handed to the feature as one value."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.settings import Settings
from services.dependencies import DependencyConfig
from tests.support.servers import clean_settings

MiB = 2**20


def test_the_documented_defaults() -> None:
    settings = clean_settings()
    assert settings.deps_index_url == "https://pypi.org/simple"  # pip's own default
    assert settings.deps_pip_command == (sys.executable, "-m", "pip")
    assert settings.deps_cache_bytes == 2048 * MiB
    assert settings.deps_max_download_bytes == 256 * MiB
    assert settings.deps_max_env_bytes == 1024 * MiB
    assert settings.deps_resolve_timeout_seconds == settings.deps_install_timeout_seconds == 300
    assert settings.deps_retry_failed_seconds == 300
    assert settings.deps_namespace == "scriptbox"


def test_the_variables_are_read_by_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTBOX_DEPS_INDEX_URL", "http://127.0.0.1:1/simple")
    monkeypatch.setenv("SCRIPTBOX_DEPS_PIP", "/opt/pip/bin/python -m pip")
    monkeypatch.setenv("SCRIPTBOX_DEPS_CACHE_BYTES", "1000")
    monkeypatch.setenv("SCRIPTBOX_DEPS_MAX_DOWNLOAD_BYTES", "2000")
    monkeypatch.setenv("SCRIPTBOX_DEPS_MAX_ENV_BYTES", "3000")
    monkeypatch.setenv("SCRIPTBOX_DEPS_RESOLVE_TIMEOUT_SECONDS", "4.5")
    monkeypatch.setenv("SCRIPTBOX_DEPS_INSTALL_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("SCRIPTBOX_DEPS_RETRY_FAILED_SECONDS", "6")
    monkeypatch.setenv("SCRIPTBOX_DEPS_NAMESPACE", "staging")
    monkeypatch.setenv("SCRIPTBOX_DATA_DIR", "/srv/scriptbox")
    monkeypatch.setenv("SCRIPTBOX_MAX_TIMEOUT_SECONDS", "100")
    config = DependencyConfig.from_settings(Settings.from_env())
    # From here on nothing reads the environment: changing it changes nothing.
    monkeypatch.setenv("SCRIPTBOX_DEPS_NAMESPACE", "production")
    assert config.index_url == "http://127.0.0.1:1/simple"
    assert config.pip_command == ("/opt/pip/bin/python", "-m", "pip")
    assert (config.cache_bytes, config.max_download_bytes, config.max_env_bytes) == (
        1000,
        2000,
        3000,
    )
    assert (config.resolve_timeout_seconds, config.install_timeout_seconds) == (4.5, 5.0)
    assert config.retry_failed_seconds == 6.0
    assert config.namespace == "staging"
    assert config.pip_cache_dir == Path("/srv/scriptbox/pip-cache")
    assert config.work_dir == Path("/srv/scriptbox/deps")
    # A run may have an environment mounted as long as the longest run lasts.
    assert config.evict_protect_seconds > 100
