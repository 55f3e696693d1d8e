"""Where the client finds the service and its token: SCRIPTBOX_URL and
SCRIPTBOX_TOKEN when set, else what `scriptbox login` stored in the user's
config dir (XDG_CONFIG_HOME/scriptbox/config.json on Linux, through Click's
get_app_dir), readable by its owner only (mode 0600)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click

from client.errors import CliError
from client.outcomes import ExitCode

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "SCRIPTBOX_URL"
TOKEN_VARIABLE = "SCRIPTBOX_TOKEN"


@dataclass(frozen=True)
class Profile:
    url: str
    token: str | None


def config_file() -> Path:
    return Path(click.get_app_dir("scriptbox")) / "config.json"


def _stored() -> dict[str, str]:
    try:
        data = json.loads(config_file().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def normalized_url(url: str) -> str:
    return url.rstrip("/").removesuffix("/graphql")


def current_profile() -> Profile:
    stored = _stored()
    url = os.environ.get(URL_VARIABLE) or stored.get("url") or DEFAULT_URL
    token = os.environ.get(TOKEN_VARIABLE) or stored.get("token")
    return Profile(normalized_url(url), token)


def require_token(profile: Profile) -> str:
    if not profile.token:
        raise CliError(
            f"not logged in: run `scriptbox login` or set {TOKEN_VARIABLE}",
            ExitCode.NOT_LOGGED_IN,
        )
    return profile.token


def save_profile(profile: Profile) -> Path:
    """Writes the file so that it is never readable by others, not even
    for a moment: created with mode 0600, and tightened if it existed."""
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)
        json.dump({"url": profile.url, "token": profile.token}, file, indent=2)
        file.write("\n")
    return path
