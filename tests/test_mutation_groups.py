"""The mutation groups (`make mutate`, mutation/*.toml) still name what is
there: modules move, tests move, and a group that mutates a module no longer
at its path, or runs a test file that is gone, would report nothing."""

from __future__ import annotations

import re
import tomllib

import pytest

from mutation.__main__ import HERE, ROOT, groups, modules_of

TEST_FILE = re.compile(r"\btests/[\w/]+\.py\b")


@pytest.mark.parametrize("group", groups())
def test_each_group_names_modules_and_tests_that_exist(group: str) -> None:
    config = HERE / f"{group}.toml"
    modules = modules_of(config)
    assert modules, group
    assert [m for m in modules if not m.is_file()] == [], group
    command = tomllib.loads(config.read_text())["cosmic-ray"]["test-command"]
    tests = TEST_FILE.findall(command)
    assert tests, f"{group} runs no test file"
    assert [t for t in tests if not (ROOT / t).is_file()] == [], group


def test_every_equivalent_names_a_module_of_some_group() -> None:
    mutated = {str(m.relative_to(ROOT)) for g in groups() for m in modules_of(HERE / f"{g}.toml")}
    listed = tomllib.loads((HERE / "equivalents.toml").read_text())["equivalent"]
    assert sorted({e["module"] for e in listed} - mutated) == []
