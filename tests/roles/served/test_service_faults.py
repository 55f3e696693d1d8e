"""A service is a sandbox like a run: the script cannot trace the runner or
init, read the host's or root's files, or plant anything where the host
looks (its HTTP socket's directory), on the served process in both shapes."""

from __future__ import annotations

import json

from tests.support.client import GraphQLClient
from tests.support.services import DELETE, start, until
from tests.support.tree import script

PROBE = r"""
import ctypes, errno, json, os, time

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def attempt(pid):
    if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
        return "attached"
    return errno.errorcode[ctypes.get_errno()]


def tried(action):
    try:
        action()
        return "done"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))


found = {
    "ptrace:init": attempt(1),
    "ptrace:runner": attempt(os.getppid()),
    "read:/etc/shadow": tried(lambda: open("/etc/shadow").read()),
    "read:/proc/1/environ": tried(lambda: open("/proc/1/environ").read()),
    "docker socket": tried(lambda: os.stat("/var/run/docker.sock")),
    "symlink into the socket dir": tried(
        lambda: os.symlink("/var/run/docker.sock", "/run/scriptbox-http/planted")
    ),
    "file in the socket dir": tried(lambda: open("/run/scriptbox-http/filler", "w")),
    "replace the socket": tried(lambda: os.unlink("/run/scriptbox-http/http.sock")),
}
print("probe " + json.dumps(found, sort_keys=True), flush=True)
while True:
    time.sleep(1)
"""


async def test_a_service_cannot_reach_the_runner_the_host_or_its_socket(
    alice: GraphQLClient,
) -> None:
    probe = await script(alice, "probe.py", PROBE)
    started = await start(alice, probe["id"], http=True, restartPolicy="NEVER")
    found = await until(alice, started["id"], "probed", lambda s: "probe {" in s["logs"])
    line = next(x for x in found["logs"].splitlines() if x.startswith("probe "))
    assert json.loads(line.removeprefix("probe ")) == {
        "ptrace:init": "EPERM",
        "ptrace:runner": "EPERM",
        "read:/etc/shadow": "EACCES",
        "read:/proc/1/environ": "EACCES",
        "docker socket": "ENOENT",
        "symlink into the socket dir": "EACCES",
        "file in the socket dir": "EACCES",
        "replace the socket": "EACCES",
    }
    await alice.data(DELETE, {"id": started["id"]})
