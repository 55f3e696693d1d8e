"""In-container: the runner's identity, kept apart from the script's.

Part of the runner (stdlib only). The script runs as uid 10001. Were the
runner that uid too, the script could stop or kill it (``kill`` needs only a
shared uid), ptrace docker-init (PID 1, same uid and dumpable), and reopen
the container's stdout, the frame stream, through ``/proc/1/fd/1``.

So the container starts as root with exactly two capabilities, CAP_SETUID and
CAP_SETGID (``container_spec``), and before anything else the runner keeps
real and saved uid 0 and sets only its effective uid to 10001:

* its file operations (``/job``, ``/job/out``) are 10001's, as the script's;
* the kernel lets a process signal another only when the sender's real or
  effective uid equals the target's real or saved uid: the runner (effective
  10001) can SIGKILL every process of the script, the script (10001 through
  and through) cannot signal the runner (real and saved 0) or docker-init;
* ptrace and ``/proc/<pid>/{fd,mem,environ}`` need all of the target's uids to
  match the caller's: both the runner and docker-init are closed to the script;
* its effective capability set is empty (the kernel clears it when the
  effective uid leaves 0), and the child becomes 10001 for real, real, saved
  and effective, with ``setreuid(10001, 10001)``, which needs no capability
  because 10001 is already the runner's effective uid. A process whose uids
  are all non-zero loses its permitted capabilities too, and
  ``no-new-privileges`` keeps any exec from granting new ones.

What stays with the runner is the right to set its effective uid back to 0
(and then use CAP_SETUID/CAP_SETGID); it never does. Code that took over the
runner would get root's uid without any other capability, inside a read-only
container without network.
"""

from __future__ import annotations

import os

SANDBOX_UID = 10001  # the script's uid and gid; owns /job
CAP_SETGID = 6
CAP_SETUID = 7
EXPECTED_CAPS = (1 << CAP_SETGID) | (1 << CAP_SETUID)


class WrongIdentity(Exception):
    """Not started as the sandbox starts the runner: refuse to run a job."""


def effective_capabilities() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    raise WrongIdentity("no CapEff in /proc/self/status")


def drop_to_runner_identity() -> None:
    """Real/saved uid 0, effective uid 10001, gids 10001, no extra groups.

    Refuses unless the process is root with exactly CAP_SETUID and
    CAP_SETGID: a root shell on a host has every capability, and the runner
    must never kill(-1) there.
    """
    if os.getresuid() != (0, 0, 0):
        raise WrongIdentity(f"started as uid {os.getresuid()}, not as root")
    caps = effective_capabilities()
    if caps != EXPECTED_CAPS:
        raise WrongIdentity(f"capabilities {caps:#x}, expected exactly {EXPECTED_CAPS:#x}")
    os.setgroups([])
    os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    os.setresuid(0, SANDBOX_UID, 0)
    if os.getresuid() != (0, SANDBOX_UID, 0) or effective_capabilities() != 0:
        raise WrongIdentity("the identity change did not take")
