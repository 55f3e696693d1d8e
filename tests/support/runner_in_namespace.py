"""The in-container runner's ``main()``, started on the host as the image starts it.

``tests/support/runner_local.py`` runs this in fresh PID and mount
namespaces (``unshare``), under a shell as PID 1 (docker-init's place), as
root with exactly CAP_SETUID and CAP_SETGID (``setpriv``), under the
system's python3 (Debian's, the image's Python), with the runner files of
this checkout. So the runner's identity
drop, its child as uid 10001, the stream pump, the timeout, the report cap
and kill-everything-else all run unchanged, without an image build: a
mutant of the runner is seen at once. ``kill(-1)`` reaches only the
processes of the namespace, and ``/sys/fs/cgroup`` is a test's folder there.

What moves is the job folder: the image's ``/job`` tmpfs becomes the folder
named by argv[1]. With SCRIPTBOX_TEST_STRAY_PRINT set, the runner prints a
line on its stdout before its verdict, as a careless change to it would.
With SCRIPTBOX_TEST_FROZEN_CLOCK set, runner_child's clock (time.monotonic)
stands still: no flush of a partial chunk ever falls due, nor the timeout.
Stdlib only (the system python has no project packages).
"""

from __future__ import annotations

import os
import runpy
import sys
import time
import types

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def job_paths(root: str) -> dict[str, str]:
    """The runner's module constants for a job folder at ``root``."""
    return {
        "JOB_ROOT": root,
        "IN_DIR": f"{root}/in",
        "OUT_DIR": f"{root}/out",
        "WORK_DIR": f"{root}/work",
        "LIB_DIR": f"{root}/lib",
        "INPUT_PATH": f"{root}/input.json",
        "RESULT_PATH": f"{root}/result.json",
    }


def main() -> int:
    host_pid_namespace = os.environ.pop("SCRIPTBOX_TEST_HOST_PID_NAMESPACE", "")
    if not host_pid_namespace or os.readlink("/proc/self/ns/pid") == host_pid_namespace:
        # The runner ends by kill(-1): anywhere but a PID namespace of its
        # own that would reach every process the host user may signal.
        print("refusing: not in a PID namespace of its own", file=sys.stderr)
        return 99
    # As in the image, whose sandbox/__init__.py is empty: the host package's
    # own __init__ imports Docker, which the runner never needs.
    package = types.ModuleType("sandbox")
    package.__path__ = [os.path.join(REPO, "sandbox")]
    sys.modules["sandbox"] = package
    from sandbox.runner import artifacts as runner_artifacts
    from sandbox.runner import child as runner_child
    from sandbox.runner import job as runner_job
    from sandbox.runner import verdict as runner_verdict

    for module in (runner_job, runner_child, runner_verdict, runner_artifacts):
        for name, value in job_paths(sys.argv[1]).items():
            if hasattr(module, name):
                setattr(module, name, value)
    if os.environ.pop("SCRIPTBOX_TEST_STRAY_PRINT", ""):
        judge = runner_verdict.judge

        def judge_and_print(*args: object) -> object:
            print("a stray print in the runner", flush=True)
            return judge(*args)  # type: ignore[arg-type]

        runner_verdict.judge = judge_and_print  # type: ignore[assignment]
    if os.environ.pop("SCRIPTBOX_TEST_FROZEN_CLOCK", ""):
        stopped = time.monotonic()
        clock = types.SimpleNamespace(monotonic=lambda: stopped, sleep=time.sleep)
        vars(runner_child)["time"] = clock
    # As ``python3 -m sandbox.runner`` (the image's command) runs it.
    runpy.run_module("sandbox.runner", run_name="__main__", alter_sys=True)
    return 0  # not reached: the runner ends with sys.exit


if __name__ == "__main__":
    sys.exit(main())
