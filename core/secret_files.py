"""Keys kept in the data directory: given in the environment, or made once.

The token signing key (graphql_api) and the secret store's encryption key
(engine) are both read this way. It lives in the bottom package so the engine
reads its key without importing the API layer.
"""

from __future__ import annotations

import secrets
from pathlib import Path


def load_or_create_secret(
    explicit: str | None, secret_file: Path, generated: str | None = None
) -> str:
    """A key: from the environment, else generated once into `secret_file`
    (mode 0600) and reused on every later start."""
    if explicit:
        return explicit
    if secret_file.exists():
        return secret_file.read_text().strip()
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    secret = generated or secrets.token_urlsafe(48)
    # O_EXCL: when two processes start at once, exactly one writes the key.
    try:
        fd = secret_file.open("x", encoding="utf-8")
    except FileExistsError:
        return secret_file.read_text().strip()
    with fd:
        secret_file.chmod(0o600)
        fd.write(secret)
    return secret
