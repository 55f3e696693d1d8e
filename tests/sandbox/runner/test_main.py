"""The whole runner, started as the image starts it (sandbox/runner/__main__.py, child.py).

Each test sends a job bundle built by the host's own encoder to the runner's
real ``main()``, running in PID and mount namespaces of its own as root with
only CAP_SETUID/CAP_SETGID (tests/support/runner_in_namespace.py), and reads
its framed reply: the output caps with real pipes, the report cap of
function mode, the timeout and the kill of everything the script left, the
child's limits (RLIMIT_CORE, OOM score, uid), the OOM count of both cgroup
versions, and how the runner refuses to run where it should not.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from core.limits import SandboxLimits
from sandbox.conversation import bundle_frames
from sandbox.job import SandboxJob
from sandbox.runner import protocol as p
from tests.support.runner_in_namespace import REPO
from tests.support.runner_local import (
    KEY,
    SANDBOX_UID,
    HostConduct,
    RunnerReply,
    RunnerWorkspace,
    run_runner,
    runner_workspace,
)

__all__ = ["runner_workspace"]  # the fixture

CAP = 1000  # output bytes per stream, and result bytes
REPORT_HEADER_BYTES = 4096  # room the runner gives function mode's report line
OK_LINE = len(json.dumps({"status": "ok"}).encode()) + 1  # the report line before a result


def job(script: str, *, language: str = "python", **limits: Any) -> SandboxJob:
    # A timeout well inside run_runner's deadline, so a run the runner lets
    # hang ends as its timeout, not as the test's.
    given: dict[str, Any] = {"output_bytes_per_stream": CAP, "result_bytes": CAP}
    given["timeout_seconds"] = 10.0
    given.update(limits)
    return SandboxJob(
        execution_id="e",
        language=language,  # type: ignore[arg-type]
        script=textwrap.dedent(script).encode(),
        input_json=b'{"n": 1}',
        env={"GIVEN": "yes", "SCRIPTBOX_IN_SANDBOX": "1"},
        limits=dataclasses.replace(SandboxLimits(), **given),
    )


def ended(reply: RunnerReply) -> dict[str, Any]:
    """The exit message of a runner that reported and ended well."""
    assert reply.returncode == 0, reply.diagnostics
    assert reply.diagnostics == ""
    assert reply.exit is not None
    assert reply.mac_matches
    return reply.exit


def outcome(reply: RunnerReply) -> tuple[str, int | None, str | None, str | None]:
    message = ended(reply)
    return (
        message["status"],
        message["exit_code"],
        message["error_code"],
        message["error_message"],
    )


# -- output caps, through the real pipes ----------------------------------


@pytest.mark.parametrize("size", [CAP - 1, CAP, CAP + 1])
def test_each_output_stream_is_capped_at_its_limit(
    runner_workspace: RunnerWorkspace, size: int
) -> None:
    script = f"""
        import sys
        sys.stdout.write("o" * {size})
        sys.stdout.flush()
        sys.stderr.write("e" * {size})
    """
    reply = run_runner(runner_workspace, job(script))
    message = ended(reply)
    assert reply.stdout == b"o" * min(size, CAP)
    assert reply.stderr == b"e" * min(size, CAP)
    assert (message["stdout_truncated"], message["stderr_truncated"]) == (size > CAP,) * 2
    assert message["status"] == "succeeded"


def test_output_past_the_cap_is_drained_so_the_script_runs_on(
    runner_workspace: RunnerWorkspace,
) -> None:
    script = """
        import os, sys
        for _ in range(40):
            sys.stdout.write("x" * 16384)
        open(os.environ["SCRIPTBOX_RESULT"], "w").write('"done"')
    """
    reply = run_runner(runner_workspace, job(script))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert reply.stdout == b"x" * CAP
    assert reply.result == b'"done"'


def test_output_still_in_the_pipes_when_the_script_ends_is_sent(
    runner_workspace: RunnerWorkspace,
) -> None:
    # The host reads nothing until the script is done: the runner blocks
    # sending the first 64 KiB (the host's pipe is full) while the rest, and
    # the stderr line, wait in the script's pipes, read only by the runner's
    # drain after the exit.
    size = 100_000
    script = f"""
        import os, sys
        sys.stdout.write("x" * {size})
        sys.stdout.flush()
        sys.stderr.write("end")
        sys.stderr.flush()
        open("{runner_workspace.signals}/written", "w").close()
        os._exit(0)
    """
    the_job = job(script, output_bytes_per_stream=size)
    reply = run_runner(runner_workspace, the_job, HostConduct(read_after="written"))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert (len(reply.stdout), reply.stderr) == (size, b"end")


def test_what_waits_in_a_pipe_is_read_at_once_and_not_cut_up_by_the_other_stream(
    runner_workspace: RunnerWorkspace,
) -> None:
    # The runner reads the first pipeful of stdout, then blocks sending it
    # (the host reads nothing yet); meanwhile a second pipeful of stdout and
    # all of stderr wait in the script's pipes. Both are ready at once when
    # the runner reads on: each read takes what waits in a pipe (up to 64
    # KiB), so stderr's bytes arrive as one run of frames, whichever pipe
    # the runner reads first.
    script = f"""
        import os, sys
        sys.stdout.write("o" * 131072)
        sys.stdout.flush()
        sys.stderr.write("e" * 20000)
        sys.stderr.flush()
        open("{runner_workspace.signals}/written", "w").close()
        os._exit(0)
    """
    the_job = job(script, output_bytes_per_stream=200_000)
    reply = run_runner(runner_workspace, the_job, HostConduct(read_after="written"))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert (reply.stdout, reply.stderr) == (b"o" * 131072, b"e" * 20000)
    runs = [kind for kind, _ in itertools.groupby(kind for kind, _ in reply.output)]
    assert runs.count(p.KIND_STDERR) == 1


def test_a_partial_chunk_waits_until_its_flush_is_due_by_the_runners_clock(
    runner_workspace: RunnerWorkspace,
) -> None:
    # The runner's clock stands still, so no flush ever falls due: "a" is
    # still held back when "b" comes (the script writes it only once the
    # runner has read "a" from the pipe), and both leave in one frame at the end.
    script = """
        import fcntl, os, struct, termios, time

        def unread():
            return struct.unpack("i", fcntl.ioctl(1, termios.FIONREAD, bytes(4)))[0]

        os.write(1, b"a")
        while unread():
            time.sleep(0.001)
        os.write(1, b"b")
    """
    reply = run_runner(runner_workspace, job(script), HostConduct(frozen_clock=True))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert reply.output == [(p.KIND_STDOUT, b"ab")]


# -- function mode's report cap -------------------------------------------


def returning(size: int) -> str:
    """A script whose main() returns a JSON text of ``size`` bytes."""
    return f"def main(data):\n    return 'a' * {size - 2}\n"


@pytest.mark.parametrize("size", [CAP - 1, CAP])
def test_a_main_result_up_to_the_result_cap_is_the_result(
    runner_workspace: RunnerWorkspace, size: int
) -> None:
    reply = run_runner(runner_workspace, job(returning(size)))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert reply.result == json.dumps("a" * (size - 2)).encode()


@pytest.mark.parametrize("size", [CAP + 1, CAP + REPORT_HEADER_BYTES - OK_LINE])
def test_a_main_result_over_the_cap_that_fits_the_report_is_measured(
    runner_workspace: RunnerWorkspace, size: int
) -> None:
    reply = run_runner(runner_workspace, job(returning(size)))
    assert outcome(reply) == (
        "failed",
        0,
        "RESULT_TOO_LARGE",
        f"main() result is {size} bytes; the limit is {CAP}",
    )
    assert reply.result is None


def test_a_report_one_byte_past_its_room_is_cut_off(runner_workspace: RunnerWorkspace) -> None:
    size = CAP + REPORT_HEADER_BYTES - OK_LINE + 1
    reply = run_runner(runner_workspace, job(returning(size)))
    assert outcome(reply) == (
        "failed",
        0,
        "RESULT_TOO_LARGE",
        f"main() returned more than {CAP} bytes of JSON",
    )


def test_a_main_error_is_reported_with_its_code(runner_workspace: RunnerWorkspace) -> None:
    reply = run_runner(runner_workspace, job("def main(data):\n    raise ValueError('no')\n"))
    assert outcome(reply) == ("failed", 1, "SCRIPT_ERROR", "ValueError: no")


def test_a_syntax_error_is_named(runner_workspace: RunnerWorkspace) -> None:
    reply = run_runner(runner_workspace, job("def main(:\n"))
    status, exit_code, code, message = outcome(reply)
    assert (status, exit_code, code) == ("failed", 1, "SCRIPT_ERROR")
    assert message == "SyntaxError: invalid syntax (script.py, line 1)"


def test_a_script_the_images_python_cannot_parse_is_named_even_if_it_runs(
    runner_workspace: RunnerWorkspace,
) -> None:
    # Debian's Python 3.11 runs a file up to a NUL byte, but cannot parse it.
    reply = run_runner(runner_workspace, job("print(1)\0\n"))
    assert outcome(reply) == (
        "failed",
        0,
        "SCRIPT_ERROR",
        "ValueError: source code string cannot contain null bytes",
    )
    assert reply.stdout == b"1\n"


def test_main_nested_elsewhere_is_program_mode(runner_workspace: RunnerWorkspace) -> None:
    script = """
        class C:
            def main(self):
                return 1
        print("program")
    """
    reply = run_runner(runner_workspace, job(script))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert (reply.stdout, reply.result) == (b"program\n", None)


@pytest.mark.parametrize("keyword", ["def", "async def"])
def test_a_top_level_main_is_called_with_the_input(
    runner_workspace: RunnerWorkspace, keyword: str
) -> None:
    reply = run_runner(runner_workspace, job(f"{keyword} main(data):\n    return data\n"))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert reply.result == b'{"n":1}'


def test_a_shell_job_runs_in_bash(runner_workspace: RunnerWorkspace) -> None:
    # bash keeps its script open as fd 255 and reads $(...) on fd 3; no
    # report channel is passed on.
    script = (
        'echo "$BASH_VERSION" | cut -c1; echo $(ls /proc/$$/fd); cat; echo 7 > "$SCRIPTBOX_RESULT"'
    )
    reply = run_runner(runner_workspace, job(script, language="shell"))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert (reply.stdout, reply.result) == (b'5\n0 1 2 255 3\n{"n": 1}', b"7")


# -- the timeout and what the script leaves behind -------------------------


def test_a_script_past_its_timeout_is_killed_and_timed_out(
    runner_workspace: RunnerWorkspace,
) -> None:
    script = """
        import time
        print("started", flush=True)
        time.sleep(600)
    """
    reply = run_runner(runner_workspace, job(script, timeout_seconds=1.5))
    assert outcome(reply) == ("timed_out", None, "TIMEOUT", "timed out after 1.5 s")
    assert reply.stdout == b"started\n"


def test_processes_the_script_left_are_killed_when_it_ends(
    runner_workspace: RunnerWorkspace,
) -> None:
    # The left process holds stdout open and writes after a second: were it
    # not killed at once, the runner's drain (2 s) would read that line.
    script = """
        import subprocess
        subprocess.Popen(["sh", "-c", "sleep 1; echo late"], start_new_session=True)
        print("main done")
    """
    reply = run_runner(runner_workspace, job(script))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert reply.stdout == b"main done\n"


def test_a_host_that_hangs_up_mid_run_ends_the_run_without_a_report(
    runner_workspace: RunnerWorkspace,
) -> None:
    script = """
        import time
        print("ready", flush=True)
        time.sleep(600)
    """
    reply = run_runner(runner_workspace, job(script), HostConduct(hang_up_on=b"ready"))
    assert (reply.returncode, reply.exit, reply.diagnostics) == (3, None, "")


def test_bytes_the_host_sends_during_a_run_are_ignored(runner_workspace: RunnerWorkspace) -> None:
    # The runner watches its stdin during a run only for the host hanging up.
    # main() returns only once the runner has read the host's bytes.
    script = f"""
        import os, time

        def main(data):
            print("ready", flush=True)
            while not os.path.exists("{runner_workspace.signals}/sent"):
                time.sleep(0.01)
            return data
    """
    reply = run_runner(runner_workspace, job(script), HostConduct(send_on=b"ready"))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert (reply.stdout, reply.stderr, reply.result) == (b"ready\n", b"", b'{"n":1}')


# -- the child's own limits and identity ----------------------------------


def test_the_child_runs_as_the_sandbox_user_without_core_dumps(
    runner_workspace: RunnerWorkspace,
) -> None:
    script = """
        import json, os, resource, sys
        print(json.dumps({
            "core": resource.getrlimit(resource.RLIMIT_CORE),
            "oom_score_adj": open("/proc/self/oom_score_adj").read().strip(),
            "uids": os.getresuid(),
            "gids": os.getresgid(),
            "groups": os.getgroups(),
            "cwd": os.getcwd(),
            "own_session": os.getsid(0) == os.getpid(),
            "stdin": sys.stdin.read(),
            "env": {k: v for k, v in os.environ.items() if k not in ("PWD", "SHLVL", "_")},
            "caps": dict(l.split() for l in open("/proc/self/status") if l.startswith("Cap")),
        }))
    """
    reply = run_runner(runner_workspace, job(script))
    assert outcome(reply) == ("succeeded", 0, None, None)
    root = str(runner_workspace.job)
    assert json.loads(reply.stdout) == {
        "core": [0, 0],
        "oom_score_adj": "1000",
        "uids": [SANDBOX_UID] * 3,
        "gids": [SANDBOX_UID] * 3,
        "groups": [],
        "cwd": f"{root}/work",
        "own_session": True,
        "stdin": '{"n": 1}',
        "env": {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": f"{root}/work",
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "GIVEN": "yes",
            "SCRIPTBOX_INPUT": f"{root}/input.json",
            "SCRIPTBOX_RESULT": f"{root}/result.json",
            "SCRIPTBOX_INPUT_DIR": f"{root}/in",
            "SCRIPTBOX_OUTPUT_DIR": f"{root}/out",
            "SCRIPTBOX_LIB": f"{root}/lib",
        },
        # No capability at all; the bounding set is the container's.
        "caps": {
            "CapInh:": "0000000000000000",
            "CapPrm:": "0000000000000000",
            "CapEff:": "0000000000000000",
            "CapBnd:": "00000000000000c0",
            "CapAmb:": "0000000000000000",
        },
    }


def test_the_script_cannot_read_the_runners_or_inits_memory_or_descriptors(
    runner_workspace: RunnerWorkspace,
) -> None:
    script = """
        import os
        for pid in (os.getppid(), 1):
            for path in (f"/proc/{pid}/environ", f"/proc/{pid}/mem"):
                try:
                    open(path, "rb").read(1)
                    print(path, "open")
                except PermissionError:
                    print(path, "closed")
            try:
                os.listdir(f"/proc/{pid}/fd")
                print(pid, "fd open")
            except PermissionError:
                print(pid, "fd closed")
    """
    reply = run_runner(runner_workspace, job(script))
    assert outcome(reply) == ("succeeded", 0, None, None)
    lines = reply.stdout.decode().splitlines()
    runner_pid = lines[0].split("/")[2]
    assert runner_pid != "1"
    assert lines == [
        f"/proc/{runner_pid}/environ closed",
        f"/proc/{runner_pid}/mem closed",
        f"{runner_pid} fd closed",
        "/proc/1/environ closed",
        "/proc/1/mem closed",
        "1 fd closed",
    ]


# -- out of memory, as both cgroup versions count it ----------------------


V2 = "memory.events"
V1 = "memory/memory.oom_control"


def v2(kills: object) -> str:
    return f"low 0\nhigh 0\nmax 3\noom 1\noom_kill {kills}\noom_group_kill 0\n"


def v1(kills: object) -> str:
    return f"oom_kill_disable 0\nunder_oom 0\noom_kill {kills}\n"


def kill_after_writing(path: str, content: str) -> str:
    """A script that writes ``content`` to ``path`` (as the kernel counts an
    OOM kill in the cgroup file the test mounted), then dies by SIGKILL."""
    return f"""
        import os, signal
        os.makedirs(os.path.dirname({path!r}), exist_ok=True)
        with open({path!r}, "w") as f:
            f.write({content!r})
        os.kill(os.getpid(), signal.SIGKILL)
    """


@pytest.mark.parametrize(
    ("before", "written", "oom"),
    [
        ((V2, v2(1)), (V2, v2(2)), True),
        ((V1, v1(1)), (V1, v1(2)), True),
        ((V1, v1(1)), (V2, v2(5)), False),  # v1 is read first
        (None, (V2, v2(1)), True),  # no count before: 0
        (None, (V2, v2(0)), False),
        ((V2, v2(1)), (V2, v2(1)), False),
        ((V1, v1(1)), (V1, v1(1)), False),
        ((V2, v2(1)), (V2, v2(0)), False),  # a count that went down
        ((V2, v2(0)), (V2, v2("x")), False),  # unreadable: 0
        (None, None, False),
    ],
)
def test_a_kill_is_out_of_memory_when_the_oom_killer_counted_one_during_the_run(
    runner_workspace: RunnerWorkspace,
    before: tuple[str, str] | None,
    written: tuple[str, str] | None,
    oom: bool,
) -> None:
    cgroup = runner_workspace.cgroup
    if before is not None:
        (cgroup / before[0]).parent.mkdir(exist_ok=True)
        (cgroup / before[0]).write_text(before[1])
    for path in [cgroup / "memory", *cgroup.rglob("*")]:
        if path.exists():
            os.chown(path, SANDBOX_UID, SANDBOX_UID)
    name, content = written or ("/tmp/elsewhere", "")
    reply = run_runner(runner_workspace, job(kill_after_writing(f"/sys/fs/cgroup/{name}", content)))
    if oom:
        assert outcome(reply) == (
            "failed",
            137,
            "OUT_OF_MEMORY",
            "the script exceeded its memory limit and was killed",
        )
    else:
        assert outcome(reply) == (
            "failed",
            137,
            "NON_ZERO_EXIT",
            "the script was killed by SIGKILL",
        )


# -- artifacts and what the report says of refusals ------------------------


def test_refused_artifacts_are_reported_up_to_a_hundred_names_of_300_characters(
    runner_workspace: RunnerWorkspace,
) -> None:
    script = """
        import os
        out = os.environ["SCRIPTBOX_OUTPUT_DIR"]
        os.mkdir(f"{out}/{'d' * 250}")
        os.symlink("/etc/passwd", f"{out}/{'d' * 250}/{'l' * 100}")
        for i in range(100):
            os.symlink("/etc/passwd", f"{out}/s{i:03}")
        open(f"{out}/kept", "w").write("k")
    """
    reply = run_runner(runner_workspace, job(script, artifact_max_count=5))
    message = ended(reply)
    assert reply.artifacts == {"kept": b"k"}
    assert message["rejected_artifacts"] == [
        f"{'d' * 250}/{'l' * 100} (symlink)"[:300],
        *(f"s{i:03} (symlink)" for i in range(99)),
    ]


@pytest.mark.parametrize("count", [1, 2])
def test_the_artifact_caps_come_from_the_job(runner_workspace: RunnerWorkspace, count: int) -> None:
    script = """
        import os
        for name in ("a", "b"):
            open(os.path.join(os.environ["SCRIPTBOX_OUTPUT_DIR"], name), "w").write(name * 10)
    """
    reply = run_runner(
        runner_workspace, job(script, artifact_max_count=count, artifact_max_total_bytes=20)
    )
    message = ended(reply)
    expected = {"a": b"a" * 10, "b": b"b" * 10}
    assert reply.artifacts == dict(list(expected.items())[:count])
    assert message["rejected_artifacts"] == ([] if count == 2 else ["b (more than 1 artifacts)"])


def test_the_report_says_how_long_the_run_took(runner_workspace: RunnerWorkspace) -> None:
    # Bounds only: the sleep is the least the run can have taken, and the
    # time the host spent waiting for the whole reply the most.
    before = time.monotonic()
    reply = run_runner(runner_workspace, job("import time; time.sleep(1.2)"))
    waited_ms = (time.monotonic() - before) * 1000
    assert 1200 <= ended(reply)["duration_ms"] <= waited_ms


def test_an_artifact_over_the_byte_cap_is_refused_by_its_size_without_being_opened(
    runner_workspace: RunnerWorkspace,
) -> None:
    # The runner may not open the file (mode 000, and it has no capability
    # to override that); it refuses it by its size alone.
    script = """
        import os
        path = os.path.join(os.environ["SCRIPTBOX_OUTPUT_DIR"], "big")
        with open(path, "w") as f:
            f.write("b" * 21)
        os.chmod(path, 0)
    """
    reply = run_runner(runner_workspace, job(script, artifact_max_total_bytes=20))
    message = ended(reply)
    assert reply.artifacts == {}
    assert message["rejected_artifacts"] == ["big (artifacts over 20 bytes in total)"]


# -- where the runner refuses to run ---------------------------------------


def test_the_runner_refuses_to_run_outside_the_sandbox_image(
    runner_workspace: RunnerWorkspace,
) -> None:
    reply = run_runner(runner_workspace, job("print(1)"), HostConduct(sandboxed=False))
    assert (reply.returncode, reply.exit) == (2, None)
    assert reply.diagnostics == "scriptbox-runner: refusing to run outside the sandbox image\n"


def test_importing_the_runner_module_starts_nothing() -> None:
    # Only running it as __main__ (python3 -m sandbox.runner) starts the runner.
    imported = subprocess.run(
        [sys.executable, "-c", "import sandbox.runner; print('imported')"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (imported.returncode, imported.stdout, imported.stderr) == (0, "imported\n", "")


def test_a_bad_bundle_ends_the_runner(runner_workspace: RunnerWorkspace) -> None:
    frames = [p.encode_json({"type": p.Msg.JOB, "v": 99})]
    reply = run_runner(runner_workspace, job("print(1)"), HostConduct(frames=frames))
    assert (reply.returncode, reply.exit) == (2, None)
    assert reply.diagnostics == (
        "scriptbox-runner: bad job bundle: unsupported protocol version 99\n"
    )


def test_a_host_that_hangs_up_while_the_runner_idles_ends_it_quietly(
    runner_workspace: RunnerWorkspace,
) -> None:
    reply = run_runner(
        runner_workspace, job("print(1)"), HostConduct(frames=[], hang_up_at_once=True)
    )
    assert (reply.returncode, reply.exit, reply.diagnostics) == (0, None, "")


def test_after_its_report_the_runner_waits_for_the_host_to_hang_up(
    runner_workspace: RunnerWorkspace,
) -> None:
    # The host removes the container once it has recorded the run; until
    # then the runner (the container's main process) stays, so the
    # container's teardown does not compete with that.
    reply = run_runner(
        runner_workspace,
        job("def main(data):\n    return data"),
        HostConduct(hold_after_report=0.5),
    )
    assert ended(reply)["status"] == "succeeded"
    assert reply.alive_after_report is True
    assert (reply.returncode, reply.diagnostics) == (0, "")


def test_a_runner_with_more_capabilities_than_the_sandbox_gives_refuses(
    runner_workspace: RunnerWorkspace,
) -> None:
    reply = run_runner(runner_workspace, job("print(1)"), HostConduct(privileged=True))
    assert (reply.returncode, reply.exit) == (2, None)
    assert reply.diagnostics.startswith("scriptbox-runner: refusing to run: capabilities 0x")
    assert reply.diagnostics.endswith(", expected exactly 0xc0\n")


@pytest.mark.parametrize(
    ("frames", "diagnostic"),
    [
        (
            bundle_frames(
                dataclasses.replace(job("print(1)"), files=[("f", b"1"), ("f", b"2")]), KEY
            ),
            "[Errno 17] File exists: '{root}/in/f'",
        ),
        (
            [p.encode_json({"type": p.Msg.JOB, "v": 1, "language": "shell", "key": "zz"})],
            "non-hexadecimal number found in fromhex() arg at position 0",
        ),
    ],
)
def test_a_bundle_the_runner_cannot_store_or_decode_ends_it(
    runner_workspace: RunnerWorkspace, frames: list[bytes], diagnostic: str
) -> None:
    reply = run_runner(runner_workspace, job("print(1)"), HostConduct(frames=frames))
    assert (reply.returncode, reply.exit) == (2, None)
    message = diagnostic.format(root=runner_workspace.job)
    assert reply.diagnostics == f"scriptbox-runner: bad job bundle: {message}\n"


def test_a_host_that_stops_reading_ends_the_runner(runner_workspace: RunnerWorkspace) -> None:
    script = """
        import time
        print("go", flush=True)
        time.sleep(600)
    """
    conduct = HostConduct(stop_reading_on=b"go")
    reply = run_runner(runner_workspace, job(script, timeout_seconds=1.0), conduct)
    assert (reply.returncode, reply.exit, reply.diagnostics) == (3, None, "")


def test_a_stray_print_in_the_runner_never_reaches_the_frame_stream(
    runner_workspace: RunnerWorkspace,
) -> None:
    reply = run_runner(runner_workspace, job("print(1)"), HostConduct(stray_print=True))
    assert (reply.returncode, reply.diagnostics) == (0, "a stray print in the runner\n")
    assert reply.mac_matches
    assert reply.stdout == b"1\n"


def test_the_drain_ends_though_a_process_the_runner_cannot_kill_holds_the_output_pipes(
    runner_workspace: RunnerWorkspace,
) -> None:
    # The script hands its stdout and stderr to the other user's process,
    # which outlives it: the pipes never reach EOF, and the runner's drain
    # must end by its own bound (2 s) for the run to report at all.
    script = f"""
        import socket
        with socket.socket(socket.AF_UNIX) as holder:
            holder.connect("{runner_workspace.signals}/foreign.sock")
            socket.send_fds(holder, [b"pipes"], [1, 2])
        print("handed over", flush=True)
    """
    conduct = HostConduct(foreign_process="holder")
    reply = run_runner(runner_workspace, job(script), conduct)
    assert reply.returncode == 0
    assert reply.diagnostics == "scriptbox-runner: some processes survived SIGKILL\n"
    assert reply.exit is not None
    assert (reply.exit["status"], reply.stdout) == ("succeeded", b"handed over\n")


def test_the_script_runs_where_its_oom_score_cannot_be_raised(
    runner_workspace: RunnerWorkspace,
) -> None:
    script = 'print(open("/proc/self/oom_score_adj").read().strip())'
    reply = run_runner(runner_workspace, job(script), HostConduct(proc_read_only=True))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert reply.stdout == b"0\n"


def test_a_process_the_runner_may_not_inspect_is_skipped_and_the_run_ends(
    runner_workspace: RunnerWorkspace,
) -> None:
    # /proc mounted hidepid=1: the other user's process is listed, but the
    # runner may not open its /proc/<pid>/stat (as for a process that ended
    # between the listing and the open).
    conduct = HostConduct(foreign_process="sleeper", proc_hides_others=True)
    reply = run_runner(runner_workspace, job("print(1)"), conduct)
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert reply.stdout == b"1\n"


@pytest.mark.parametrize("name", ["sleeper", "x) Z (y"])
def test_a_process_the_runner_cannot_kill_is_reported_and_the_run_still_ends(
    runner_workspace: RunnerWorkspace, name: str
) -> None:
    # A name with ") Z (" must not pass for a zombie in /proc/<pid>/stat.
    reply = run_runner(runner_workspace, job("print(1)"), HostConduct(foreign_process=name))
    assert reply.returncode == 0
    assert reply.diagnostics == "scriptbox-runner: some processes survived SIGKILL\n"
    assert reply.exit is not None
    assert (reply.exit["status"], reply.stdout) == ("succeeded", b"1\n")


# -- the scripts a job imports ----------------------------------------------

IMPORTING = """
    import json, os, sys
    import helpers
    from lib.geo import depth
    def report():
        return {
            "value": helpers.double(depth(2)),
            "files": [helpers.__file__, sys.modules["lib.geo"].__file__],
            "writable": [
                os.access(helpers.__file__, os.W_OK),
                os.access(os.environ["SCRIPTBOX_LIB"], os.W_OK),
            ],
            "search": sys.path[:2],
            "job_on_path": any(entry.rstrip("/").endswith("/job") for entry in sys.path),
        }
"""


def importing_job(mode: str) -> SandboxJob:
    tail = (
        "def main(data):\n    return report()\n"
        if mode == "function"
        else "print(json.dumps(report()))\n"
    )
    return dataclasses.replace(
        job(textwrap.dedent(IMPORTING) + tail),
        library=[
            ("tools/helpers.py", b"def double(x):\n    return 2 * x\n"),
            ("lib/geo.py", b"def depth(km):\n    return km * 10\n"),
        ],
        import_path=["tools", ""],
    )


@pytest.mark.parametrize("mode", ["function", "program"])
def test_imported_scripts_are_found_in_the_lib_folder_read_only(
    runner_workspace: RunnerWorkspace, mode: str
) -> None:
    reply = run_runner(runner_workspace, importing_job(mode))
    assert outcome(reply) == ("succeeded", 0, None, None), reply.stderr
    report = json.loads((reply.result or b"null") if mode == "function" else reply.stdout)
    lib = f"{runner_workspace.job}/lib"
    assert report == {
        "value": 40,
        "files": [f"{lib}/tools/helpers.py", f"{lib}/lib/geo.py"],
        "writable": [False, False],
        "search": [f"{lib}/tools", lib],
        "job_on_path": False,
    }


def test_a_job_that_imports_nothing_searches_the_script_folder_as_before(
    runner_workspace: RunnerWorkspace,
) -> None:
    script = "import sys\ndef main(data):\n    return sys.path[0]\n"
    reply = run_runner(runner_workspace, job(script))
    assert outcome(reply) == ("succeeded", 0, None, None)
    assert json.loads(reply.result or b"null") == str(runner_workspace.job)
