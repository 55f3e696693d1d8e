"""The languages a script can be written in: one name each, from the table's
column to the GraphQL enum and the sandbox job."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    PYTHON = "python"
    SHELL = "shell"
    JAVASCRIPT = "javascript"
