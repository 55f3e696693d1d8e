"""What a folder last agreed on with the service: the content hash of each
script at the last `push` or `pull`, kept in DIR/.scriptbox-sync.json. It is
how the client tells "changed on the server since" (someone else's edit,
which a push must not overwrite) from "changed here" (which it pushes)."""

from __future__ import annotations

import json
from pathlib import Path

STATE_FILE = ".scriptbox-sync.json"


def load_base(directory: Path, url: str, root: str) -> dict[str, str]:
    """Hashes by relative path; empty when the folder was last synced with
    another service or another place in the tree, or never."""
    try:
        state = json.loads((directory / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict) or state.get("url") != url or state.get("root") != root:
        return {}
    scripts = state.get("scripts")
    return {str(k): str(v) for k, v in scripts.items()} if isinstance(scripts, dict) else {}


def save_base(directory: Path, url: str, root: str, hashes: dict[str, str]) -> None:
    state = {"url": url, "root": root, "scripts": dict(sorted(hashes.items()))}
    (directory / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
