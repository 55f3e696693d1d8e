"""What a script sees and what comes back: modes, results, output, files."""

from __future__ import annotations

import json

import pytest

from sandbox import SandboxLimits
from tests.support.sandbox_runs import RunScript

pytestmark = pytest.mark.docker


async def test_main_gets_json_and_returns_json(run_script: RunScript) -> None:
    run = await run_script(
        "def main(data):\n    return {'sum': sum(data['xs']), 'echo': data, 'text': 'héllo'}\n",
        {"xs": [1, 2, 3], "nested": {"a": None}},
    )
    assert run.outcome.status == "succeeded", run.outcome
    assert run.outcome.exit_code == 0
    assert run.outcome.error_code is None
    assert json.loads(run.outcome.result_json or "") == {
        "sum": 6,
        "echo": {"xs": [1, 2, 3], "nested": {"a": None}},
        "text": "héllo",
    }


async def test_function_mode_loads_the_script_as_a_module(run_script: RunScript) -> None:
    script = (
        "import sys\n"
        "def main(data):\n"
        "    return {'name': __name__, 'stdin': sys.stdin.read()}\n"
        "if __name__ == '__main__':\n"
        "    print('ran as __main__')\n"
    )
    run = await run_script(script, [1])
    assert run.outcome.status == "succeeded", run.outcome
    assert json.loads(run.outcome.result_json or "") == {"name": "script", "stdin": "[1]"}
    assert "ran as __main__" not in run.stdout


async def test_print_streams_in_order_while_running(run_script: RunScript) -> None:
    # stdout and stderr are two pipes: writes to both within the same instant
    # arrive in either order, so the script pauses between streams.
    script = (
        "import sys, time\n"
        "def main(data):\n"
        "    print('one')\n"
        "    time.sleep(0.05)\n"
        "    print('two', file=sys.stderr)\n"
        "    time.sleep(0.05)\n"
        "    print('three')\n"
        "    time.sleep(0.6)\n"
        "    print('four')\n"
        "    return None\n"
    )
    run = await run_script(script)
    assert run.outcome.status == "succeeded", run.outcome
    assert run.outcome.result_json == "null"
    sequence = [(c.stream, line) for _, c in run.chunks for line in c.data.splitlines()]
    assert sequence == [
        ("stdout", "one"),
        ("stderr", "two"),
        ("stdout", "three"),
        ("stdout", "four"),
    ]
    first_seen = run.chunks[0][0]
    last_seen = run.chunks[-1][0]
    # Streamed, not delivered at exit: "one" arrived well before "four".
    assert last_seen - first_seen > 0.4


async def test_exception_is_script_error_with_traceback(run_script: RunScript) -> None:
    script = (
        "def helper(x):\n"
        "    raise ValueError(f'bad input {x}')\n"
        "\n"
        "def main(data):\n"
        "    return helper(data)\n"
    )
    run = await run_script(script, 7)
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "SCRIPT_ERROR"
    assert run.outcome.error_message == "ValueError: bad input 7"
    assert run.outcome.exit_code == 1
    assert "Traceback (most recent call last)" in run.stderr
    assert "in helper" in run.stderr
    assert "call_main" not in run.stderr  # the harness hides its own frames


async def test_syntax_error_is_script_error(run_script: RunScript) -> None:
    run = await run_script("def main(data)\n    return 1\n")
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "SCRIPT_ERROR"
    assert (run.outcome.error_message or "").startswith("SyntaxError")
    assert "SyntaxError" in run.stderr


async def test_python_program_mode_uses_stdin_and_files(run_script: RunScript) -> None:
    script = (
        "import json, os, sys\n"
        "from_stdin = json.load(sys.stdin)\n"
        "with open(os.environ['SCRIPTBOX_INPUT']) as f:\n"
        "    from_file = json.load(f)\n"
        "print('program', __name__)\n"
        "with open(os.environ['SCRIPTBOX_RESULT'], 'w') as f:\n"
        "    json.dump({'stdin': from_stdin, 'file': from_file, 'cwd': os.getcwd()}, f)\n"
    )
    run = await run_script(script, {"k": "v"})
    assert run.outcome.status == "succeeded", run.outcome
    assert run.stdout == "program __main__\n"
    assert json.loads(run.outcome.result_json or "") == {
        "stdin": {"k": "v"},
        "file": {"k": "v"},
        "cwd": "/job/work",
    }


async def test_program_without_result_file_has_no_result(run_script: RunScript) -> None:
    run = await run_script("print('hi')\n")
    assert run.outcome.status == "succeeded"
    assert run.outcome.result_json is None


async def test_shell_program(run_script: RunScript) -> None:
    script = (
        'read -r line\necho "stdin=$line"\necho "file=$(cat "$SCRIPTBOX_INPUT")"\n'
        'echo "secret=$API_TOKEN" >&2\n'
        'printf \'{"ok": true, "n": 3}\' > "$SCRIPTBOX_RESULT"\n'
    )
    run = await run_script(script, [1, 2], language="shell", env={"API_TOKEN": "s3cr3t"})
    assert run.outcome.status == "succeeded", run.outcome
    assert run.stdout == "stdin=[1, 2]\nfile=[1, 2]\n"
    assert run.stderr == "secret=s3cr3t\n"
    assert json.loads(run.outcome.result_json or "") == {"ok": True, "n": 3}


@pytest.mark.parametrize(
    ("language", "script", "code"),
    [
        ("python", "import sys\nsys.exit(3)\n", 3),
        ("shell", "echo bye; exit 42\n", 42),
        ("python", "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n", 128 + 15),
    ],
)
async def test_non_zero_exit(run_script: RunScript, language: str, script: str, code: int) -> None:
    run = await run_script(script, language=language)
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "NON_ZERO_EXIT"
    assert run.outcome.exit_code == code


async def test_invalid_json_in_result_file(run_script: RunScript) -> None:
    run = await run_script('echo "{not json" > "$SCRIPTBOX_RESULT"\n', language="shell")
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "INVALID_RESULT"
    assert run.outcome.result_json is None


@pytest.mark.parametrize("value", ["{1, 2}", "float('nan')", "object()"])
async def test_main_returning_non_json(run_script: RunScript, value: str) -> None:
    run = await run_script(f"def main(data):\n    return {value}\n")
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "INVALID_RESULT"
    assert run.outcome.exit_code == 0


async def test_result_too_large(run_script: RunScript) -> None:
    limits = SandboxLimits(timeout_seconds=10, result_bytes=1000)
    run = await run_script("def main(data):\n    return 'x' * 5000\n", limits=limits)
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "RESULT_TOO_LARGE"
    assert run.outcome.result_json is None


async def test_non_utf8_and_split_characters(run_script: RunScript) -> None:
    script = (
        "import sys, time\n"
        "out = sys.stdout.buffer\n"
        "out.write(b'bad:\\xff\\xfe:'); out.flush()\n"
        "euro = '€'.encode()\n"
        "out.write(euro[:1]); out.flush(); time.sleep(0.05)\n"  # split across chunks
        "out.write(euro[1:] + b':end\\n'); out.flush()\n"
    )
    run = await run_script(script)
    assert run.outcome.status == "succeeded"
    assert run.stdout == "bad:\ufffd\ufffd:€:end\n"


async def test_input_files_env_and_artifacts(run_script: RunScript) -> None:
    script = (
        "import os, json\n"
        "def main(data):\n"
        "    inputs = sorted(os.path.relpath(os.path.join(d, f), '/job/in')\n"
        "                    for d, _, fs in os.walk('/job/in') for f in fs)\n"
        "    try:\n"
        "        open('/job/in/data.csv', 'a').write('tamper')\n"
        "        writable = True\n"
        "    except PermissionError:\n"
        "        writable = False\n"
        "    csv = open('/job/in/data.csv').read()\n"
        "    os.makedirs('/job/out/reports', exist_ok=True)\n"
        "    open('/job/out/summary.txt', 'w').write(csv.upper())\n"
        "    raw = open('/job/in/sub/blob.bin', 'rb').read()\n"
        "    open('/job/out/reports/raw.bin', 'wb').write(raw)\n"
        "    return {'inputs': inputs, 'writable': writable, 'token': os.environ['TOKEN']}\n"
    )
    blob = bytes(range(256)) * 10
    run = await run_script(
        script,
        files=(("data.csv", b"a,b\n1,2\n"), ("sub/blob.bin", blob)),
        env={"TOKEN": "abc"},
    )
    assert run.outcome.status == "succeeded", run.outcome
    assert json.loads(run.outcome.result_json or "") == {
        "inputs": ["data.csv", "sub/blob.bin"],
        "writable": False,
        "token": "abc",
    }
    artifacts = {a.name: a.data for a in run.outcome.artifacts}
    assert artifacts == {"reports/raw.bin": blob, "summary.txt": b"A,B\n1,2\n"}
    assert run.outcome.rejected_artifacts == []


async def test_artifact_caps(run_script: RunScript) -> None:
    script = (
        "for i in range(4):\n"
        "    open(f'/job/out/f{i}.txt', 'w').write(str(i) * 100)\n"
        "open('/job/out/g.bin', 'wb').write(b'x' * 5000)\n"
    )
    limits = SandboxLimits(timeout_seconds=10, artifact_max_count=3, artifact_max_total_bytes=1000)
    run = await run_script(script, limits=limits)
    assert run.outcome.status == "succeeded"
    assert [a.name for a in run.outcome.artifacts] == ["f0.txt", "f1.txt", "f2.txt"]
    assert sorted(run.outcome.rejected_artifacts) == [
        "f3.txt (more than 3 artifacts)",
        "g.bin (more than 3 artifacts)",
    ]


async def test_artifact_total_size_cap(run_script: RunScript) -> None:
    script = (
        "open('/job/out/a', 'wb').write(b'a' * 600)\nopen('/job/out/b', 'wb').write(b'b' * 600)\n"
    )
    limits = SandboxLimits(timeout_seconds=10, artifact_max_total_bytes=1000)
    run = await run_script(script, limits=limits)
    assert [a.name for a in run.outcome.artifacts] == ["a"]
    assert run.outcome.rejected_artifacts == ["b (artifacts over 1000 bytes in total)"]


async def test_invalid_job_is_an_outcome(run_script: RunScript) -> None:
    run = await run_script("print(1)", files=(("a/b", b""), ("a", b"")))
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "INVALID_JOB"


async def test_async_main(run_script: RunScript) -> None:
    script = (
        "import asyncio\n"
        "async def main(data):\n"
        "    await asyncio.sleep(0.01)\n"
        "    return {'doubled': data * 2}\n"
    )
    run = await run_script(script, 21)
    assert run.outcome.status == "succeeded", run.outcome
    assert json.loads(run.outcome.result_json or "") == {"doubled": 42}


async def test_main_runs_where_and_with_what_a_fresh_start_would_have(
    run_script: RunScript,
) -> None:
    # Function mode's child is started before the job arrives; what the job
    # brings (its environment, the work dir, the input on stdin, the script's
    # path) must still be all the script sees.
    script = (
        "import os, sys\n"
        "def main(data):\n"
        "    return {'cwd': os.getcwd(), 'argv': sys.argv, 'path0': sys.path[0],\n"
        "            'env': sorted(os.environ), 'token': os.environ['TOKEN'],\n"
        "            'stdin': sys.stdin.read()}\n"
    )
    run = await run_script(script, {"a": 1}, env={"TOKEN": "t0k"})
    assert run.outcome.status == "succeeded", run.outcome
    assert json.loads(run.outcome.result_json or "") == {
        "cwd": "/job/work",
        "argv": ["/job/script.py"],
        "path0": "/job",
        "env": [
            "HOME",
            "LANG",
            "PATH",
            "PYTHONDONTWRITEBYTECODE",
            "PYTHONUNBUFFERED",
            "SCRIPTBOX_INPUT",
            "SCRIPTBOX_INPUT_DIR",
            "SCRIPTBOX_LIB",
            "SCRIPTBOX_OUTPUT_DIR",
            "SCRIPTBOX_RESULT",
            "TMPDIR",
            "TOKEN",
        ],
        "token": "t0k",
        "stdin": '{"a": 1}',
    }


async def test_a_variable_python_reads_when_it_starts_takes_effect(run_script: RunScript) -> None:
    # An interpreter started ahead of the job could not honour it: such a
    # job gets a child started for it.
    script = "import sys\ndef main(data):\n    return sys.flags.optimize\n"
    run = await run_script(script, env={"PYTHONOPTIMIZE": "1"})
    assert run.outcome.status == "succeeded", run.outcome
    assert run.outcome.result_json == "1"
