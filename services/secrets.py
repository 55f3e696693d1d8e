"""Secrets: encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256, from the
`cryptography` package) with a key from the environment, or generated once
into the data folder. Values are never returned by the API; a run receives
the secrets its script declares as environment variables: those of whoever
started it, or when they have none by a name, one a group of theirs has."""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from tortoise.exceptions import IntegrityError

from core.errors import BadUserInput
from core.secret_files import load_or_create_secret
from models.secrets import Secret
from models.teams import GroupSecret
from services.access import Caller, visible

SECRET_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
MAX_SECRET_BYTES = 64 * 1024
# Names the sandbox sets itself; a secret must not shadow them.
RESERVED_PREFIXES = ("SCRIPTBOX_",)
RESERVED_NAMES = {"PATH", "HOME", "PYTHONPATH", "LD_PRELOAD", "LD_LIBRARY_PATH"}


class MissingSecrets(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def check_secret_name(name: str) -> str:
    if not SECRET_NAME.fullmatch(name):
        raise BadUserInput(
            f"'{name}' is not a valid secret name: use A-Z, 0-9 and '_', "
            "starting with a letter or '_', at most 64 characters."
        )
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        raise BadUserInput(f"'{name}' is reserved for the sandbox.")
    return name


class SecretStore:
    def __init__(self, key: str | None, key_file: Path) -> None:
        self._fernet = Fernet(load_or_create_secret(key, key_file, Fernet.generate_key().decode()))

    def seal(self, name: str, value: str) -> str:
        """The value checked and encrypted, as stored (a person's or a group's)."""
        check_secret_name(name)
        if len(value.encode()) > MAX_SECRET_BYTES:
            raise BadUserInput(f"Secret values may be at most {MAX_SECRET_BYTES} bytes.")
        if not value:
            raise BadUserInput("A secret value must not be empty.")
        return self._fernet.encrypt(value.encode()).decode()

    async def set(self, caller: Caller, name: str, value: str) -> Secret:
        ciphertext = self.seal(name, value)
        existing = await Secret.get_or_none(owner_id=caller.id, name=name)
        if existing is not None:
            existing.ciphertext = ciphertext
            await existing.save()
            return existing
        try:
            return await Secret.create(owner_id=caller.id, name=name, ciphertext=ciphertext)
        except IntegrityError:
            # Set at the same moment by another request: the last write wins.
            await Secret.filter(owner_id=caller.id, name=name).update(ciphertext=ciphertext)
            return await Secret.get(owner_id=caller.id, name=name)

    async def list_secrets(self, caller: Caller) -> list[Secret]:
        """The user's secrets by name (rows: the values stay encrypted)."""
        return await visible(Secret.all(), caller).order_by("name")

    async def delete(self, caller: Caller, name: str) -> bool:
        return bool(await Secret.filter(owner_id=caller.id, name=name).delete())

    async def values_for(self, owner_id: str, names: list[str]) -> dict[str, str]:
        """The decrypted values of these names, the person's own first, else a
        group's they belong to (by group name, when two groups have one);
        MissingSecrets names any absent."""
        if not names:
            return {}
        found = {
            row.name: row.ciphertext
            for row in await Secret.filter(owner_id=owner_id, name__in=names)
        }
        lacking = [name for name in names if name not in found]
        if lacking:
            group_rows = await GroupSecret.filter(
                name__in=lacking, group__members__user_id=owner_id
            ).order_by("-group__name")
            # Later rows win: the first group by name is the one used.
            found |= {row.name: row.ciphertext for row in group_rows}
        missing = sorted(set(names) - set(found))
        if missing:
            raise MissingSecrets(missing)
        try:
            return {name: self._fernet.decrypt(found[name]).decode() for name in names}
        except InvalidToken as exc:
            raise RuntimeError(
                "A secret cannot be decrypted: SCRIPTBOX_SECRETS_KEY changed?"
            ) from exc
