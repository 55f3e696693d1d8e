"""The rules that read what a script imports (services/script_imports.py),
on their own: a tree given as sets of paths, no database, no sandbox."""

from __future__ import annotations

from core.languages import Language
from services.script_imports import ScriptImport, imports_of, paths_asked


class Tree:
    def __init__(self, *scripts: str) -> None:
        self.scripts = set(scripts)

    def is_script(self, path: str) -> bool:
        return path in self.scripts

    def is_folder(self, path: str) -> bool:
        return any(s.startswith(path + "/") for s in self.scripts)


TREE = Tree(
    "tools/helpers.py",
    "helpers.py",
    "lib/geo.py",
    "lib/units.py",
    "pkg/__init__.py",
    "pkg/a.py",
    "pkg.py",
)


def python(content: str, folder: str = "tools") -> list[ScriptImport]:
    roots = [folder, ""] if folder else [""]
    return imports_of(Language.PYTHON, content, folder, roots, TREE)


def shell(content: str) -> list[ScriptImport]:
    return imports_of(Language.SHELL, content, "", [""], TREE)


def test_what_is_not_the_owners_is_left_to_the_interpreter() -> None:
    assert python("import json, os.path\nfrom requests import get\nimport numpy as np\n") == []


def test_the_scripts_folder_comes_before_the_top() -> None:
    assert python("import helpers\n") == [ScriptImport("helpers", "tools/helpers.py")]
    assert python("import helpers\n", folder="") == [ScriptImport("helpers", "helpers.py")]


def test_a_package_init_comes_before_a_module_of_the_same_name() -> None:
    assert python("from pkg import a, attr\n", folder="") == [
        ScriptImport("pkg", "pkg/__init__.py"),
        ScriptImport("pkg.a", "pkg/a.py"),
    ]


def test_a_name_from_a_module_is_an_attribute_but_from_a_plain_folder_a_module() -> None:
    assert python("from lib.geo import depth\n") == [ScriptImport("lib.geo", "lib/geo.py")]
    assert python("from lib import units, nothere\n") == [
        ScriptImport("lib.units", "lib/units.py"),
        ScriptImport("lib.nothere", "lib/nothere.py", "missing"),
    ]
    assert python("import lib.gone\n") == [ScriptImport("lib.gone", "lib/gone.py", "missing")]


def test_relative_imports_start_in_the_importing_folder_and_never_climb() -> None:
    assert python("from . import geo\n", folder="lib") == [ScriptImport(".geo", "lib/geo.py")]
    assert python("from .nope import x\n", folder="lib") == [
        ScriptImport(".nope", "lib/nope.py", "missing")
    ]
    assert python("from ..lib import geo\n")[0].problem == "refused"


def test_imports_inside_functions_count_and_a_syntax_error_finds_none() -> None:
    assert python("def f():\n    import helpers\n") == [ScriptImport("helpers", "tools/helpers.py")]
    assert python("import helpers\ndef (:\n") == []


def test_shell_sources_a_literal_path_after_the_variable() -> None:
    content = (
        '. "$SCRIPTBOX_LIB/lib/geo.py"\n'
        "source ${SCRIPTBOX_LIB}/helpers.py  # greet\n"
        '  . "$SCRIPTBOX_LIB/lib/none.sh"\n'
        ". '$SCRIPTBOX_LIB/lib/geo.py'\n"
        '. "$SCRIPTBOX_LIB/$name.sh"\n'
        ". ./local.sh\n"
        'echo ". $SCRIPTBOX_LIB/helpers.py"\n'
    )
    assert shell(content) == [
        ScriptImport("$SCRIPTBOX_LIB/lib/geo.py", "lib/geo.py"),
        ScriptImport("$SCRIPTBOX_LIB/helpers.py", "helpers.py"),
        ScriptImport("$SCRIPTBOX_LIB/lib/none.sh", "lib/none.sh", "missing"),
    ]


def test_shell_paths_that_leave_the_tree_are_refused() -> None:
    for tail in ("../etc/passwd", "/etc/passwd", "lib/../../x.sh", "./x.sh", ""):
        found = shell(f'. "$SCRIPTBOX_LIB/{tail}"\n')
        assert [item.problem for item in found] == ["refused"], tail


def test_every_path_the_rules_may_reach_is_asked_for_up_front() -> None:
    content = "import json\nfrom lib.geo import depth\nfrom . import helpers\n"
    asked = paths_asked(content, Language.PYTHON, "tools", ["tools", ""])
    assert {"lib/geo.py", "tools/lib/geo.py", "tools/helpers.py", "json.py"} <= asked
