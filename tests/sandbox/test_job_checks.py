"""The checks a job passes before any container is touched (sandbox/job_checks.py).

Each refused job is one that would otherwise reach Docker or the runner with
a limit that does not hold (zero, negative, NaN), an environment that could
smuggle a second variable, a volume mounted where it could shadow the
runner, or input files that overwrite each other.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

from core.limits import SandboxLimits
from sandbox.job import SandboxJob, VolumeMount
from sandbox.job_checks import MAX_ENV_BYTES, VOLUME_TARGET, job_problem

LIMIT_FIELDS = [
    "memory_bytes",
    "nano_cpus",
    "pids",
    "output_bytes_per_stream",
    "result_bytes",
    "workdir_bytes",
    "artifact_max_total_bytes",
]


def job(**given: Any) -> SandboxJob:
    fields: dict[str, Any] = {
        "execution_id": "e",
        "language": "python",
        "script": b"print(1)",
        "input_json": b"{}",
    }
    fields.update(given)
    return SandboxJob(**fields)


def limits(**given: Any) -> SandboxLimits:
    return dataclasses.replace(SandboxLimits(), **given)


def test_an_ordinary_job_passes() -> None:
    assert job_problem(job()) is None
    assert job_problem(job(language="shell", files=[("a/b.txt", b"x"), ("c", b"y")])) is None


def test_an_unknown_language_is_refused() -> None:
    assert job_problem(job(language="ruby")) == "unknown language 'ruby'"


@pytest.mark.parametrize("raw", [b"{", b"\xff", b""])
def test_input_must_be_utf8_json(raw: bytes) -> None:
    assert (job_problem(job(input_json=raw)) or "").startswith("input is not valid UTF-8 JSON")


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan"), float("inf")])
def test_the_timeout_must_be_a_positive_number(timeout: float) -> None:
    problem = job_problem(job(limits=limits(timeout_seconds=timeout)))
    assert problem == "timeout_seconds must be a positive number"


def test_a_tiny_timeout_is_a_timeout() -> None:
    assert job_problem(job(limits=limits(timeout_seconds=0.001))) is None


@pytest.mark.parametrize("name", LIMIT_FIELDS)
@pytest.mark.parametrize("value", [0, -1])
def test_every_resource_limit_must_be_positive(name: str, value: int) -> None:
    assert job_problem(job(limits=limits(**{name: value}))) == f"{name} must be positive"


def test_artifacts_may_be_off_but_not_negative() -> None:
    assert job_problem(job(limits=limits(artifact_max_count=0))) is None
    problem = job_problem(job(limits=limits(artifact_max_count=-1)))
    assert problem == "artifact_max_count must not be negative"


def test_memory_is_at_least_dockers_minimum() -> None:
    assert job_problem(job(limits=limits(memory_bytes=6 * 2**20))) is None
    problem = job_problem(job(limits=limits(memory_bytes=6 * 2**20 - 1)))
    assert problem == "memory_bytes must be at least 6 MiB (Docker's minimum)"


@pytest.mark.parametrize(
    "env",
    [{"": "x"}, {"A=B": "x"}, {"A\0": "x"}, {"A": "x\0y"}],
    ids=["empty", "=", "NUL", "NUL value"],
)
def test_environment_names_and_values_cannot_smuggle_a_variable(env: dict[str, str]) -> None:
    assert (job_problem(job(env=env)) or "").startswith("invalid environment variable")


def test_the_environment_is_bounded_in_bytes() -> None:
    assert MAX_ENV_BYTES == 256 * 1024
    fits = {"K": "é" * ((MAX_ENV_BYTES - 1) // 2), "L": ""}
    assert job_problem(job(env=fits)) is None
    over = {"K": "é" * ((MAX_ENV_BYTES - 1) // 2), "LL": ""}
    assert job_problem(job(env=over)) == f"environment is over {MAX_ENV_BYTES} bytes"


@pytest.mark.parametrize(
    "names",
    [("a", "a"), ("a", "./a"), ("a/b", "a"), ("a", "a/b"), ("x/a/b", "x/a"), ("a b", "a_b")],
)
def test_input_files_that_would_overwrite_each_other_are_refused(names: tuple[str, str]) -> None:
    files = [(names[0], b"1"), (names[1], b"2")]
    assert (job_problem(job(files=files)) or "").endswith("clashes with another input file")


def test_siblings_and_prefixes_do_not_clash() -> None:
    assert job_problem(job(files=[("ab", b""), ("a", b""), ("a.b/c", b""), ("b/a", b"")])) is None


def test_script_input_and_files_must_fit_the_work_dir() -> None:
    # 100 + 2 + 500 + 397 = 999 bytes in all.
    files = [("f", b"x" * 500), ("g", b"x" * 397)]
    whole = job(script=b"s" * 100, input_json=b"{}", files=files)
    assert job_problem(dataclasses.replace(whole, limits=limits(workdir_bytes=999))) is None
    assert job_problem(dataclasses.replace(whole, limits=limits(workdir_bytes=998))) == (
        "script, input and files (999 bytes) exceed the work dir limit"
    )


def test_volumes_mount_only_at_the_environment_path() -> None:
    assert job_problem(job(volumes=[VolumeMount("env-1", VOLUME_TARGET)])) is None
    for target in ("/opt/scriptbox/sandbox", "/bin", "/"):  # after and before it in order
        wrong = job(volumes=[VolumeMount("env-1", target)])
        assert job_problem(wrong) == f"volumes may only be mounted at {VOLUME_TARGET}"
    twice = job(volumes=[VolumeMount("a", VOLUME_TARGET), VolumeMount("b", VOLUME_TARGET)])
    assert job_problem(twice) == "two volumes share a mount point"


@pytest.mark.parametrize("name", ["", "-x", "a/b", "a b", "a" * 129, "../x"])
def test_volume_names_are_plain_docker_names(name: str) -> None:
    assert (
        job_problem(job(volumes=[VolumeMount(name, VOLUME_TARGET)]))
        == f"invalid volume name {name!r}"
    )


def test_the_longest_volume_name_passes() -> None:
    assert job_problem(job(volumes=[VolumeMount("a" * 128, VOLUME_TARGET)])) is None


@pytest.mark.parametrize("name", [n for n in LIMIT_FIELDS if n != "memory_bytes"])
def test_a_limit_of_one_is_positive(name: str) -> None:
    tiny = job(script=b"", input_json=b"0")  # 1 byte: fits a work dir of 1
    assert job_problem(dataclasses.replace(tiny, limits=limits(**{name: 1}))) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="hands directories to other owners")
def test_an_http_socket_directory_must_be_roots_alone(tmp_path: Any) -> None:
    safe = tmp_path / "safe"
    safe.mkdir(mode=0o755)
    os.chown(safe, 0, 0)
    assert job_problem(job(http_socket_dir=str(safe))) is None
    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)
    assert "root alone" in str(job_problem(job(http_socket_dir=str(open_to_all))))
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 10001, 10001)
    assert "root alone" in str(job_problem(job(http_socket_dir=str(theirs))))
    link = tmp_path / "link"
    link.symlink_to(safe)
    assert "not a directory" in str(job_problem(job(http_socket_dir=str(link))))
    assert "absolute" in str(job_problem(job(http_socket_dir="relative")))
