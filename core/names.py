"""Validation of folder and script names, and of logical paths."""

from __future__ import annotations

import unicodedata

from core.errors import BadUserInput
from core.languages import Language

MAX_NAME_LENGTH = 255
MAX_PATH_LENGTH = 4096
LANGUAGE_BY_SUFFIX = {
    ".py": Language.PYTHON,
    ".sh": Language.SHELL,
    ".js": Language.JAVASCRIPT,
    ".mjs": Language.JAVASCRIPT,
}


def validate_name(raw: str, what: str = "Name") -> str:
    """A folder or script name: one path segment, printable, bounded."""
    name = unicodedata.normalize("NFC", raw)
    if not name or not name.strip():
        raise BadUserInput(f"{what} must not be empty.")
    if name != name.strip():
        raise BadUserInput(f"{what} must not start or end with white space.")
    if len(name) > MAX_NAME_LENGTH:
        raise BadUserInput(f"{what} may have at most {MAX_NAME_LENGTH} characters.")
    if "/" in name or "\\" in name:
        raise BadUserInput(f"{what} must not contain '/' or '\\'.")
    if name in (".", ".."):
        raise BadUserInput(f"{what} must not be '.' or '..'.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise BadUserInput(f"{what} must not contain control characters.")
    return name


def split_path(path: str) -> list[str]:
    """`geology/analysis.py` -> ["geology", "analysis.py"], each segment validated."""
    if len(path) > MAX_PATH_LENGTH:
        raise BadUserInput(f"Paths may have at most {MAX_PATH_LENGTH} characters.")
    segments = path.strip("/").split("/")
    return [validate_name(segment, "Each path segment") for segment in segments]


def infer_language(name: str, given: Language | None) -> Language:
    if given is not None:
        return given
    for suffix, language in LANGUAGE_BY_SUFFIX.items():
        if name.lower().endswith(suffix):
            return language
    raise BadUserInput(
        "Cannot tell the script's language from its name: "
        "name it *.py, *.sh, *.js or *.mjs, or give `language`."
    )
