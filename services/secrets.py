"""Secrets: encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256, from the
`cryptography` package) with a key from the environment, or generated once
into the data folder. Values are never returned by the API; a run receives
the secrets its script declares as environment variables."""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from tortoise.exceptions import IntegrityError

from core.errors import BadUserInput
from core.secret_files import load_or_create_secret
from models.secrets import Secret
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

    async def set(self, caller: Caller, name: str, value: str) -> Secret:
        check_secret_name(name)
        if len(value.encode()) > MAX_SECRET_BYTES:
            raise BadUserInput(f"Secret values may be at most {MAX_SECRET_BYTES} bytes.")
        if not value:
            raise BadUserInput("A secret value must not be empty.")
        ciphertext = self._fernet.encrypt(value.encode()).decode()
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
        """The decrypted values of these names; MissingSecrets names any absent."""
        if not names:
            return {}
        rows = {row.name: row for row in await Secret.filter(owner_id=owner_id, name__in=names)}
        missing = sorted(set(names) - set(rows))
        if missing:
            raise MissingSecrets(missing)
        try:
            return {name: self._fernet.decrypt(rows[name].ciphertext).decode() for name in names}
        except InvalidToken as exc:
            raise RuntimeError(
                "A secret cannot be decrypted: SCRIPTBOX_SECRETS_KEY changed?"
            ) from exc
