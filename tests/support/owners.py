"""Names that mark what this test run started.

Every sandbox container carries its worker's name (the owner label), and the
session ends by failing when a container of this run is left
(tests/conftest.py). Other test runs may share the Docker engine, so "of this
run" means: the owner name ends with this pytest process's id. Every worker
name a test gives a service comes from `owned_name`, and ServiceProcess
refuses one that does not, so no suite can slip outside that check."""

from __future__ import annotations

import os
import secrets

OWNED_SUFFIX = f"-{os.getpid()}"


def owned_name(label: str) -> str:
    """`label` made this run's: what the leftovers check counts."""
    return f"{label}{OWNED_SUFFIX}"


def fresh_owned_name(label: str) -> str:
    """A name of this run no other service of it shares: two live workers
    of one name would reap each other's containers when they start."""
    return owned_name(f"{label}-{secrets.token_hex(4)}")


def is_owned(name: str | None) -> bool:
    return (name or "").endswith(OWNED_SUFFIX)
