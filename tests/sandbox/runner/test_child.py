"""How the runner reads a Python script's shape (sandbox/runner/child.py).

Function mode (main() called with the input, its return value the result)
only when the module defines ``main`` at top level; a script Python cannot
parse still runs in program mode, with its error named (a NUL byte, which
the image's Python reports differently, is in test_main.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.runner.child import ScriptShape, inspect_python


@pytest.mark.parametrize(
    ("source", "shape"),
    [
        (b"def main(data):\n    return 1\n", ScriptShape(function_mode=True)),
        (b"async def main(data):\n    return 1\n", ScriptShape(function_mode=True)),
        (b"main = 1\nprint(main)\n", ScriptShape(function_mode=False)),
        (b"def other():\n    def main():\n        pass\n", ScriptShape(function_mode=False)),
        # Only the name main counts, not one that sorts before it.
        (b"def helper(data):\n    return 1\n", ScriptShape(function_mode=False)),
        (b"class main:\n    pass\n", ScriptShape(function_mode=False)),
        (
            b"def main(:\n",
            ScriptShape(False, "SyntaxError: invalid syntax (script.py, line 1)"),
        ),
    ],
)
def test_the_shape_of_a_script(tmp_path: Path, source: bytes, shape: ScriptShape) -> None:
    (tmp_path / "script.py").write_bytes(source)
    assert inspect_python(str(tmp_path / "script.py")) == shape
