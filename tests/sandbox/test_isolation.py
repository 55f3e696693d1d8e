"""The script cannot reach the container's init or the runner: no ptrace, no
signals, no descriptors. Each run still ends with the script's own outcome."""

from __future__ import annotations

import json

import docker
import pytest

from sandbox import SandboxLimits
from sandbox.container_spec import labels
from tests.support.sandbox_runs import RunScript

pytestmark = pytest.mark.docker

PTRACE_PROBE = """
import ctypes, errno, os

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
REQUESTS = {"attach": 16, "seize": 0x4206}




class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def attempt(request, pid):
    if libc.ptrace(REQUESTS[request], pid, None, None) == 0:
        return "attached"
    return errno.errorcode[ctypes.get_errno()]


def read_memory(pid):
    # Another process's memory without ptrace; the address is this process's
    # own buffer, mapped or not over there: only the permission check matters.
    buffer = ctypes.create_string_buffer(16)
    local = IoVec(ctypes.cast(buffer, ctypes.c_void_p), 16)
    remote = IoVec(ctypes.cast(buffer, ctypes.c_void_p), 16)
    if libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) >= 0:
        return "read"
    return errno.errorcode[ctypes.get_errno()]


def main(data):
    targets = {"init": 1, "runner": os.getppid()}
    found = {
        f"{request}:{name}": attempt(request, pid)
        for request in REQUESTS
        for name, pid in targets.items()
    }
    found.update({f"vm_readv:{name}": read_memory(pid) for name, pid in targets.items()})
    return found
"""


async def test_ptrace_of_init_and_runner_is_refused(run_script: RunScript) -> None:
    run = await run_script(PTRACE_PROBE)
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    assert json.loads(run.outcome.result_json or "") == {
        "attach:init": "EPERM",
        "attach:runner": "EPERM",
        "seize:init": "EPERM",
        "seize:runner": "EPERM",
        "vm_readv:init": "EPERM",
        "vm_readv:runner": "EPERM",
    }


async def test_init_descriptors_and_memory_are_closed(run_script: RunScript) -> None:
    # docker-init holds the container's stdout (the frame stream): reopening
    # it through /proc would let the script write into that stream.
    script = (
        "import errno\n"
        "def main(data):\n"
        "    found = {}\n"
        "    for path in ('/proc/1/fd/1', '/proc/1/mem', '/proc/1/environ'):\n"
        "        try:\n"
        "            open(path, 'rb').close()\n"
        "            found[path] = 'opened'\n"
        "        except OSError as exc:\n"
        "            found[path] = errno.errorcode[exc.errno]\n"
        "    return found\n"
    )
    run = await run_script(script)
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    assert set(json.loads(run.outcome.result_json or "").values()) == {"EACCES"}


@pytest.mark.parametrize("signal_name", ["SIGSTOP", "SIGKILL", "SIGTERM"])
async def test_signals_to_the_runner_are_refused(run_script: RunScript, signal_name: str) -> None:
    script = (
        "import errno, os, signal\n"
        "def main(data):\n"
        "    found = {}\n"
        "    for name, pid in (('runner', os.getppid()), ('init', 1)):\n"
        "        try:\n"
        f"            os.kill(pid, signal.{signal_name})\n"
        "            found[name] = 'sent'\n"
        "        except OSError as exc:\n"
        "            found[name] = errno.errorcode[exc.errno]\n"
        "    return found\n"
    )
    run = await run_script(script, limits=SandboxLimits(timeout_seconds=5))
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    assert json.loads(run.outcome.result_json or "") == {"runner": "EPERM", "init": "EPERM"}


async def test_signalling_every_process_spares_the_runner(run_script: RunScript) -> None:
    # kill(-1) reaches every process the caller may signal: only the
    # script's own helpers, never the runner that reports the outcome.
    script = (
        "sleep 1000 &\n"
        "helper=$!\n"
        "kill -STOP -1\n"
        "kill -KILL -1\n"
        "wait $helper\n"
        'echo "helper ended with $?"\n'
    )
    run = await run_script(script, language="shell", limits=SandboxLimits(timeout_seconds=5))
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    assert run.stdout == "helper ended with 137\n"


async def test_the_script_runs_without_capabilities_as_its_own_uid(
    run_script: RunScript,
) -> None:
    script = (
        "import os\n"
        "def main(data):\n"
        "    status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
        "    def owner(pid):\n"  # the real uid; /proc/<pid> itself is root's when not dumpable
        "        for line in open(f'/proc/{pid}/status'):\n"
        "            if line.startswith('Uid:'):\n"
        "                return int(line.split()[1])\n"
        "    return {\n"
        "        'ids': [os.getresuid(), os.getresgid(), os.getgroups()],\n"
        "        'caps': [status[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapAmb')],\n"
        "        'same_uid_as_runner': owner(os.getppid()) == os.getuid(),\n"
        "        'same_uid_as_init': owner(1) == os.getuid(),\n"
        "    }\n"
    )
    run = await run_script(script)
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    result = json.loads(run.outcome.result_json or "")
    assert result["ids"] == [[10001] * 3, [10001] * 3, []]
    assert result["caps"] == ["0000000000000000"] * 4
    assert not result["same_uid_as_runner"]
    assert not result["same_uid_as_init"]


@pytest.mark.parametrize(
    ("user", "cap_drop"),
    [("10001:10001", ["ALL"]), ("0:0", None)],
    ids=["unprivileged-uid", "root-with-dockers-default-capabilities"],
)
def test_runner_refuses_any_other_identity(
    docker_api: docker.APIClient, sandbox_image: str, owner: str, user: str, cap_drop: list[str]
) -> None:
    # Only as the sandbox starts it may the runner kill(-1): never as a plain
    # user (it could not keep its uid apart) nor as a root with more power.
    container = docker_api.create_container(
        sandbox_image,
        user=user,
        labels=labels(owner, None),
        host_config=docker_api.create_host_config(network_mode="none", cap_drop=cap_drop),
    )
    try:
        docker_api.start(container)
        status = docker_api.wait(container, timeout=60)
        logs = docker_api.logs(container, stdout=False, stderr=True).decode()
    finally:
        docker_api.remove_container(container, force=True)
    assert status["StatusCode"] == 2
    assert "refusing to run" in logs
