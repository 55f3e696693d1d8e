"""Settings (core/settings.py): each default written once, so the settings of
an empty environment are the class's own defaults; a bad value names its
variable."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from unittest import mock

import pytest

from core.limits import SandboxLimits
from core.settings import Settings


def from_env(**variables: str) -> Settings:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTBOX_")}
    with mock.patch.dict(os.environ, {**clean, **variables}, clear=True):
        return Settings.from_env()


def test_an_empty_environment_gives_the_declared_defaults() -> None:
    read = from_env()
    declared = Settings()
    # Derived from the data directory, so not declared as constants.
    derived = {"database_url": f"sqlite://{Path('data') / 'scriptbox.sqlite3'}"}
    for field in dataclasses.fields(Settings):
        expected = derived.get(field.name, getattr(declared, field.name))
        assert getattr(read, field.name) == expected, field.name


def test_run_limits_default_to_the_sandbox_limits() -> None:
    read = from_env()
    limits = SandboxLimits()
    assert read.default_timeout_seconds == limits.timeout_seconds
    assert read.sandbox_memory_bytes == limits.memory_bytes
    assert read.sandbox_nano_cpus == limits.nano_cpus
    assert read.sandbox_pids == limits.pids
    assert read.sandbox_output_bytes == limits.output_bytes_per_stream
    assert read.sandbox_result_bytes == limits.result_bytes
    assert read.sandbox_workdir_bytes == limits.workdir_bytes


def test_variables_override_and_data_dir_moves_its_files() -> None:
    read = from_env(SCRIPTBOX_DATA_DIR="/srv/sb", SCRIPTBOX_SANDBOX_PIDS="64")
    assert read.sandbox_pids == 64
    assert read.database_url == "sqlite:///srv/sb/scriptbox.sqlite3"
    assert read.storage_dir == Path("/srv/sb/objects")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("SCRIPTBOX_PORT", "eighty", "SCRIPTBOX_PORT must be an integer"),
        ("SCRIPTBOX_DEFAULT_TIMEOUT_SECONDS", "soon", "must be a number"),
        ("SCRIPTBOX_EMBEDDED_WORKER", "maybe", "must be true or false"),
        ("SCRIPTBOX_STORAGE", "floppy", "SCRIPTBOX_STORAGE must be 'local' or 's3'"),
        ("SCRIPTBOX_SANDBOX_MEMORY_BYTES", str(2**31), "must be at most 2147483647"),
        ("SCRIPTBOX_LOG_FORMAT", "xml", "SCRIPTBOX_LOG_FORMAT must be 'text' or 'json'"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        from_env(**{variable: value})
