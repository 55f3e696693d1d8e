"""Tortoise models. Every module listed in MODEL_MODULES is one Tortoise app."""

from models.tree import Folder, Language, Script, ScriptVersion
from models.users import RefreshToken, User

MODEL_MODULES = ["models.users", "models.tree", "aerich.models"]

__all__ = [
    "MODEL_MODULES",
    "Folder",
    "Language",
    "RefreshToken",
    "Script",
    "ScriptVersion",
    "User",
]
