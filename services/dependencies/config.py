"""What the dependency feature works with: the operator's settings (read
from the environment by core/settings.py, the only reader) and the fixed
values that are no one's to configure, in one value the manager, the
resolver and the tests can hold and replace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings

# Margin on top of the longest run: an environment used this recently may
# still be mounted by a run.
EVICT_PROTECT_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class DependencyConfig:
    index_url: str
    pip_command: tuple[str, ...]
    cache_bytes: int
    max_download_bytes: int
    max_env_bytes: int
    resolve_timeout_seconds: float
    install_timeout_seconds: float
    retry_failed_seconds: float
    namespace: str
    # Where pip keeps its HTTP cache, and the temporary download folders.
    pip_cache_dir: Path
    work_dir: Path
    # An environment used this recently is never evicted (a run may still
    # have it mounted): the longest run plus a margin.
    evict_protect_seconds: float
    max_env_files: int = 100_000
    # How long a run waits for another process to resolve or build.
    wait_timeout_seconds: float = 900.0
    # A claim whose heartbeat is older than this was left by a dead process.
    stale_seconds: float = 60.0
    janitor_seconds: float = 300.0
    # How often a worker looks for sets saved since (PENDING) to prefetch.
    pending_poll_seconds: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DependencyConfig:
        return cls(
            index_url=settings.deps_index_url,
            pip_command=settings.deps_pip_command,
            cache_bytes=settings.deps_cache_bytes,
            max_download_bytes=settings.deps_max_download_bytes,
            max_env_bytes=settings.deps_max_env_bytes,
            resolve_timeout_seconds=settings.deps_resolve_timeout_seconds,
            install_timeout_seconds=settings.deps_install_timeout_seconds,
            retry_failed_seconds=settings.deps_retry_failed_seconds,
            namespace=settings.deps_namespace,
            pip_cache_dir=settings.data_dir / "pip-cache",
            work_dir=settings.data_dir / "deps",
            evict_protect_seconds=settings.max_timeout_seconds + EVICT_PROTECT_MARGIN_SECONDS,
        )
