"""Settings of Python dependency handling, from the environment.

Kept beside the feature (one reader, like core/settings.py, which
supplies the data directory and the run-time ceiling).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import Settings

MiB = 2**20


def default_pip() -> tuple[str, ...]:
    """pip beside the service (a declared dependency); else the system's."""
    if importlib.util.find_spec("pip") is not None:
        return (sys.executable, "-m", "pip")
    return (shutil.which("python3") or sys.executable, "-m", "pip")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def pip_default_index() -> str:
    """The index pip uses when none is configured, taken from pip itself."""
    from pip._internal.models.index import PyPI

    return str(PyPI.simple_url)


@dataclass(frozen=True)
class DependencyConfig:
    # SCRIPTBOX_DEPS_INDEX_URL: the package index (PEP 503/691 simple API).
    # Default: pip's own default index.
    index_url: str = field(default_factory=lambda: pip_default_index())
    # SCRIPTBOX_DEPS_PIP: the command that runs pip on the host.
    pip_command: tuple[str, ...] = field(default_factory=default_pip)
    # SCRIPTBOX_DEPS_CACHE_BYTES: installed environments kept per Docker
    # engine; past it the least recently used ones are removed.
    cache_bytes: int = 2048 * MiB
    # SCRIPTBOX_DEPS_MAX_DOWNLOAD_BYTES / SCRIPTBOX_DEPS_MAX_ENV_BYTES: the
    # wheels of one environment, and its installed size.
    max_download_bytes: int = 256 * MiB
    max_env_bytes: int = 1024 * MiB
    max_env_files: int = 100_000
    # SCRIPTBOX_DEPS_RESOLVE_TIMEOUT_SECONDS / _INSTALL_TIMEOUT_SECONDS.
    resolve_timeout_seconds: float = 300.0
    install_timeout_seconds: float = 300.0
    # SCRIPTBOX_DEPS_RETRY_FAILED_SECONDS: a failed resolution is answered
    # from the database this long before it is tried again (saving the
    # script retries at once).
    retry_failed_seconds: float = 300.0
    # SCRIPTBOX_DEPS_NAMESPACE: label of this deployment's volumes on the
    # engine; the clean-up touches no other.
    namespace: str = "scriptbox"
    # Where pip keeps its HTTP cache, and the temporary download folders.
    pip_cache_dir: Path = Path("data/pip-cache")
    work_dir: Path = Path("data/deps")
    # An environment used this recently is never evicted (a run may still
    # have it mounted): the longest run plus a margin.
    evict_protect_seconds: float = 660.0
    # How long a run waits for another process to resolve or build.
    wait_timeout_seconds: float = 900.0
    # A claim whose heartbeat is older than this was left by a dead process.
    stale_seconds: float = 60.0
    janitor_seconds: float = 300.0

    @classmethod
    def from_env(cls, settings: Settings) -> DependencyConfig:
        pip = os.environ.get("SCRIPTBOX_DEPS_PIP", "").strip()
        return cls(
            index_url=os.environ.get("SCRIPTBOX_DEPS_INDEX_URL", "").strip() or pip_default_index(),
            pip_command=tuple(shlex.split(pip)) if pip else default_pip(),
            cache_bytes=_int("SCRIPTBOX_DEPS_CACHE_BYTES", cls.cache_bytes),
            max_download_bytes=_int("SCRIPTBOX_DEPS_MAX_DOWNLOAD_BYTES", cls.max_download_bytes),
            max_env_bytes=_int("SCRIPTBOX_DEPS_MAX_ENV_BYTES", cls.max_env_bytes),
            resolve_timeout_seconds=_float(
                "SCRIPTBOX_DEPS_RESOLVE_TIMEOUT_SECONDS", cls.resolve_timeout_seconds
            ),
            install_timeout_seconds=_float(
                "SCRIPTBOX_DEPS_INSTALL_TIMEOUT_SECONDS", cls.install_timeout_seconds
            ),
            retry_failed_seconds=_float(
                "SCRIPTBOX_DEPS_RETRY_FAILED_SECONDS", cls.retry_failed_seconds
            ),
            namespace=os.environ.get("SCRIPTBOX_DEPS_NAMESPACE", "").strip() or cls.namespace,
            pip_cache_dir=settings.data_dir / "pip-cache",
            work_dir=settings.data_dir / "deps",
            evict_protect_seconds=settings.max_timeout_seconds + 60.0,
        )
