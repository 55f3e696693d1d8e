"""The host directory an http service's socket lives in, made safe to mount.

The runner binds the service's socket in this directory (see
``sandbox/runner/http_bridge.py``), which is bind-mounted into the
container: it must be owned by root and writable by no one else, so the
script (uid 10001) can put nothing there, neither a symlink the host's proxy
would follow nor files that fill the host's disk. Only the runner, with its
file-system uid set to 0 for the bind, can.
"""

from __future__ import annotations

import contextlib
import os
import stat

DIR_MODE = 0o755


def prepare(path: str) -> None:
    """Create the directory as root-owned and 0755, when this process can.

    A host process that is not root cannot hand the directory to root:
    ``problem`` then refuses the job with a reason an operator can act on.
    """
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)
    if os.geteuid() == 0:
        with contextlib.suppress(OSError):
            os.chown(path, 0, 0, follow_symlinks=False)
            os.chmod(path, DIR_MODE, follow_symlinks=False)


def problem(path: str) -> str | None:
    """Why this directory must not be mounted, or None."""
    if not os.path.isabs(path):
        return "the http socket directory must be an absolute path"
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"the http socket directory is missing: {exc.strerror}"
    if not stat.S_ISDIR(info.st_mode):
        return "the http socket directory is not a directory"
    if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "the http socket directory must be owned by root and writable by root alone"
    return None
