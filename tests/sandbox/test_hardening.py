"""Hostile scripts: resource bombs, escapes, and limits enforced within bounds."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import docker
import pytest

from sandbox import DockerSandbox, SandboxLimits
from sandbox.container_spec import LABEL_EXECUTION
from sandbox.runner.identity import EXPECTED_CAPS
from tests.support.deadlines import wait_for
from tests.support.sandbox_runs import RunScript

pytestmark = pytest.mark.docker

# Longer than any of these runs may take on a loaded machine, and shorter than
# the script's own end or the timeout that would end it: a hang guard that
# still tells "the sandbox ended it" from "it ran to its end".
HANG_GUARD_SECONDS = 30.0


@pytest.mark.parametrize(
    ("language", "script"),
    [
        ("python", "import time\nprint('started', flush=True)\ntime.sleep(60)\n"),
        (
            "javascript",
            "export async function main() {\n  console.log('started');\n"
            "  await new Promise((resolve) => setTimeout(resolve, 60000));\n}\n",
        ),
    ],
)
async def test_sleep_past_timeout(run_script: RunScript, language: str, script: str) -> None:
    run = await run_script(script, language=language, limits=SandboxLimits(timeout_seconds=1))
    assert run.outcome.status == "timed_out"
    assert run.outcome.error_code == "TIMEOUT"
    assert run.stdout == "started\n"  # output before the timeout is kept
    # Not before the timeout, and long before the script's own end (60 s):
    # the host's clock ended it. A bound, not a speed measurement.
    assert 1.0 <= run.elapsed < HANG_GUARD_SECONDS


@pytest.mark.parametrize(
    ("language", "script"),
    [("python", "while True:\n    pass\n"), ("javascript", "for (;;) {}\n")],
)
async def test_cpu_spin_times_out(run_script: RunScript, language: str, script: str) -> None:
    run = await run_script(script, language=language, limits=SandboxLimits(timeout_seconds=1))
    assert run.outcome.status == "timed_out"
    assert run.outcome.error_code == "TIMEOUT"
    assert 1.0 <= run.elapsed < HANG_GUARD_SECONDS


@pytest.mark.parametrize(
    ("language", "script"),
    [
        (
            "python",
            "import os\n"
            "def main(data):\n"
            "    while True:\n"
            "        try:\n"
            "            os.fork()\n"
            "        except OSError:\n"
            "            pass\n",
        ),
        (
            # Node cannot fork itself: each child is another node running
            # the same bomb, and spawn failures (EAGAIN) are ignored.
            "javascript",
            "const { spawn } = require('child_process');\n"
            "const bomb = `const { spawn } = require('child_process');\n"
            "for (;;) {\n"
            "  spawn(process.execPath, ['-e', process.argv[1]]).on('error', () => {});\n"
            "}`;\n"
            "exports.main = () => {\n"
            "  for (;;) { spawn(process.execPath, ['-e', bomb, bomb]).on('error', () => {}); }\n"
            "};\n",
        ),
    ],
)
async def test_fork_bomb_is_contained(run_script: RunScript, language: str, script: str) -> None:
    limits = SandboxLimits(timeout_seconds=2, pids=64)
    run = await run_script(script, language=language, limits=limits)
    assert run.outcome.status == "timed_out", run.outcome
    assert run.outcome.error_code == "TIMEOUT"
    assert 2.0 <= run.elapsed < HANG_GUARD_SECONDS
    # The engine is fine afterwards.
    after = await run_script("def main(data):\n    return 'ok'\n")
    assert after.outcome.result_json == '"ok"'


@pytest.mark.parametrize(
    ("language", "script"),
    [
        ("python", "def main(data):\n    block = bytearray(1024 * 2**20)\n    return len(block)\n"),
        ("python", "chunks = []\nwhile True:\n    chunks.append(b'x' * 2**20)\n"),
        # Filled, so every page is touched (a zeroed Buffer may stay unmapped).
        (
            "javascript",
            "export function main() {\n  return Buffer.alloc(1024 * 2 ** 20, 1).length;\n}\n",
        ),
        ("javascript", "const chunks = [];\nfor (;;) chunks.push(Buffer.alloc(2 ** 20, 120));\n"),
        ("javascript", "const chunks = [];\nfor (;;) chunks.push(new Array(2 ** 16).fill(0.5));\n"),
    ],
    ids=["one-big-block", "growing-list", "js-one-big-block", "js-growing-list", "js-heap"],
)
async def test_memory_bomb_is_out_of_memory(
    run_script: RunScript, language: str, script: str
) -> None:
    limits = SandboxLimits(timeout_seconds=10, memory_bytes=64 * 2**20)
    run = await run_script(script, language=language, limits=limits)
    assert run.outcome.status == "failed", run.outcome
    assert run.outcome.error_code == "OUT_OF_MEMORY"
    assert run.outcome.exit_code == 137


@pytest.mark.parametrize(
    ("language", "script"),
    [
        (
            "python",
            "import sys\n"
            "line = 'y' * 1023 + '\\n'\n"
            "for _ in range(40 * 1024):\n"  # 40 MiB on each stream
            "    sys.stdout.write(line)\n"
            "    sys.stderr.write(line)\n",
        ),
        (
            "javascript",
            "const line = 'y'.repeat(1023) + '\\n';\n"
            "for (let i = 0; i < 40 * 1024; i++) {\n"
            "  process.stdout.write(line);\n"
            "  process.stderr.write(line);\n"
            "}\n",
        ),
    ],
)
async def test_endless_output_is_capped(run_script: RunScript, language: str, script: str) -> None:
    cap = 100_000
    limits = SandboxLimits(timeout_seconds=20, output_bytes_per_stream=cap)
    run = await run_script(script, language=language, limits=limits)
    assert run.outcome.status == "succeeded", run.outcome
    assert run.outcome.stdout_truncated and run.outcome.stderr_truncated
    assert len(run.stdout) == cap and len(run.stderr) == cap


@pytest.mark.parametrize(
    ("language", "script"),
    [
        ("shell", "yes"),
        ("javascript", "for (;;) process.stdout.write('y\\n'.repeat(4096));\n"),
    ],
)
async def test_endless_output_until_timeout(
    run_script: RunScript, language: str, script: str
) -> None:
    limits = SandboxLimits(timeout_seconds=1, output_bytes_per_stream=50_000)
    run = await run_script(script, language=language, limits=limits)
    assert run.outcome.status == "timed_out"
    assert run.outcome.stdout_truncated
    assert len(run.stdout) == 50_000
    assert 1.0 <= run.elapsed < HANG_GUARD_SECONDS


async def test_filling_the_work_dir_fails_inside(run_script: RunScript) -> None:
    script = (
        "import errno\n"
        "def main(data):\n"
        "    written = 0\n"
        "    try:\n"
        "        with open('big', 'wb') as f:\n"
        "            while written < 200 * 2**20:\n"
        "                f.write(b'\\0' * 2**20)\n"
        "                f.flush()\n"
        "                written += 2**20\n"
        "    except OSError as exc:\n"
        "        return {'written': written, 'error': errno.errorcode[exc.errno]}\n"
        "    return {'written': written, 'error': None}\n"
    )
    limits = SandboxLimits(timeout_seconds=10, workdir_bytes=16 * 2**20)
    run = await run_script(script, limits=limits)
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    result = json.loads(run.outcome.result_json or "")
    assert result["error"] in ("ENOSPC", "EFBIG")
    assert result["written"] <= 16 * 2**20


async def test_root_file_system_is_read_only(run_script: RunScript) -> None:
    # EROFS, not EACCES: uid 10001 gets EACCES on root-owned paths of a
    # writable root too. /opt/scriptbox/env is owned by 10001 in the image, so
    # only a read-only mount stops the write there.
    script = (
        "import errno\n"
        "def main(data):\n"
        "    found = {}\n"
        "    for path in data:\n"
        "        try:\n"
        "            open(path, 'w').write('x')\n"
        "            found[path] = 'written'\n"
        "        except OSError as exc:\n"
        "            found[path] = errno.errorcode[exc.errno]\n"
        "    root = [line.split() for line in open('/proc/self/mountinfo')\n"
        "            if line.split()[4] == '/']\n"
        "    found['mount options of /'] = root[-1][5].split(',')\n"
        "    return found\n"
    )
    paths = ["/opt/scriptbox/env/planted.py", "/etc/passwd", "/newfile"]
    run = await run_script(script, paths)
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    result = json.loads(run.outcome.result_json or "")
    assert "ro" in result.pop("mount options of /"), result
    assert result == {
        "/opt/scriptbox/env/planted.py": "EROFS",
        "/etc/passwd": "EROFS",
        "/newfile": "EROFS",
    }


async def test_the_script_holds_no_capability(run_script: RunScript) -> None:
    script = (
        "def main(data):\n"
        "    status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
        "    return {k: int(status[k], 16)\n"
        "            for k in ('CapInh', 'CapPrm', 'CapEff', 'CapAmb', 'CapBnd')}\n"
    )
    run = await run_script(script)
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    caps = json.loads(run.outcome.result_json or "")
    # The bounding set keeps exactly the runner's two (runner_identity);
    # Docker's default set, or any cap_add, shows up here.
    assert caps == {
        "CapInh": 0,
        "CapPrm": 0,
        "CapEff": 0,
        "CapAmb": 0,
        "CapBnd": EXPECTED_CAPS,
    }, {k: hex(v) for k, v in caps.items()}


@pytest.mark.parametrize(
    ("language", "script"),
    [
        (
            "python",
            "import errno, os, socket\n"
            "def main(data):\n"
            "    try:\n"
            # TEST-NET-1 (RFC 5737): reserved, never routed. With no interface
            # but loopback the kernel refuses before any packet exists.
            "        socket.create_connection(('192.0.2.1', 80), timeout=2)\n"
            "        outcome = 'connected'\n"
            "    except OSError as exc:\n"
            "        outcome = errno.errorcode.get(exc.errno, str(exc))\n"
            "    return {'connect': outcome, 'interfaces': sorted(os.listdir('/sys/class/net'))}\n",
        ),
        (
            "javascript",
            "import fs from 'node:fs';\n"
            "import net from 'node:net';\n"
            "export async function main() {\n"
            "  const outcome = await new Promise((resolve) => {\n"
            "    const socket = net.connect({ host: '192.0.2.1', port: 80, timeout: 2000 });\n"
            "    socket.on('connect', () => resolve('connected'));\n"
            "    socket.on('timeout', () => resolve('timed out'));\n"
            "    socket.on('error', (error) => resolve(error.code));\n"
            "  });\n"
            "  return { connect: outcome, interfaces: fs.readdirSync('/sys/class/net').sort() };\n"
            "}\n",
        ),
    ],
)
async def test_no_network(run_script: RunScript, language: str, script: str) -> None:
    run = await run_script(script, language=language)
    result = json.loads(run.outcome.result_json or "")
    assert result == {"connect": "ENETUNREACH", "interfaces": ["lo"]}


@pytest.mark.parametrize(
    ("language", "script"),
    [
        (
            "python",
            "import os\n"
            "def main(data):\n"
            "    status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
            "    mounts = [line.split()[4] for line in open('/proc/self/mountinfo')]\n"
            "    return {\n"
            "        'uid': os.getuid(),\n"
            "        'sockets': [p for p in ('/var/run/docker.sock', '/run/docker.sock')\n"
            "                    if os.path.exists(p)],\n"
            "        'host_dirs': [p for p in ('/work', '/var/lib/docker', '/etc/docker')\n"
            "                      if os.path.exists(p)],\n"
            "        'cap_eff': status['CapEff'].strip(),\n"
            "        'no_new_privs': status['NoNewPrivs'].strip(),\n"
            "        'mounts': mounts,\n"
            "    }\n",
        ),
        (
            "javascript",
            "const fs = require('fs');\n"
            "exports.main = () => {\n"
            "  const lines = (path) => fs.readFileSync(path, 'utf8').trim().split('\\n');\n"
            "  const status = Object.fromEntries(\n"
            "    lines('/proc/self/status')\n"
            "      .map((l) => [l.split(':')[0], l.split(':')[1].trim()]));\n"
            "  return {\n"
            "    uid: process.getuid(),\n"
            "    sockets: ['/var/run/docker.sock', '/run/docker.sock'].filter(fs.existsSync),\n"
            "    host_dirs: ['/work', '/var/lib/docker', '/etc/docker'].filter(fs.existsSync),\n"
            "    cap_eff: status.CapEff,\n"
            "    no_new_privs: status.NoNewPrivs,\n"
            "    mounts: lines('/proc/self/mountinfo').map((l) => l.split(' ')[4]),\n"
            "  };\n"
            "};\n",
        ),
    ],
)
async def test_no_host_files_no_docker_socket_no_privileges(
    run_script: RunScript, language: str, script: str
) -> None:
    run = await run_script(script, language=language)
    result = json.loads(run.outcome.result_json or "")
    assert result["uid"] == 10001
    assert result["sockets"] == []
    assert result["host_dirs"] == []
    assert result["cap_eff"] == "0000000000000000"
    assert result["no_new_privs"] == "1"
    # Only what Docker itself provides: no bind mount of a host directory.
    allowed = {"/", "/job", "/tmp", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev"}
    allowed |= {"/sbin/docker-init", "/usr/sbin/docker-init"}  # init=True, mounted read-only
    unexpected = [
        m
        for m in result["mounts"]
        if m not in allowed and not m.startswith(("/proc", "/sys", "/dev/"))
    ]
    assert unexpected == []


@pytest.mark.parametrize(
    ("language", "script"),
    [
        ("shell", "sleep 1000 &\necho started\n"),
        ("shell", "(setsid sleep 1000 > /dev/null 2>&1 &)\n(sleep 1000 &)\necho started\n"),
        (
            "python",
            "import subprocess\n"
            "def main(data):\n"
            "    subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
            "    print('started')\n"
            "    return 1\n",
        ),
        (
            "javascript",
            "const { spawn } = require('child_process');\n"
            "exports.main = () => {\n"
            "  spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });\n"
            "  console.log('started');\n"
            "  return 1;\n"
            "};\n",
        ),
    ],
    ids=["background-job", "setsid-daemon", "python-popen", "javascript-spawn"],
)
async def test_background_process_does_not_outlive_main(
    run_script: RunScript, language: str, script: str
) -> None:
    # A child that kept the run open would make it time out (60 s) instead.
    limits = SandboxLimits(timeout_seconds=60)
    run = await run_script(script, language=language, limits=limits)
    assert run.outcome.status == "succeeded", run.outcome
    assert run.stdout == "started\n"
    assert run.elapsed < HANG_GUARD_SECONDS


@pytest.mark.parametrize(
    ("language", "script"),
    [
        (
            "python",
            "import os\n"
            "os.symlink('/etc/passwd', '/job/out/passwd')\n"
            "os.symlink('/var/run/docker.sock', '/job/out/docker.sock')\n"
            "os.symlink('/etc', '/job/out/etc-dir')\n"
            "os.mkfifo('/job/out/pipe')\n"
            "open('/job/out/ok.txt', 'w').write('fine')\n",
        ),
        (
            # Node has no mkfifo of its own: coreutils' makes the fifo.
            "javascript",
            "const fs = require('fs');\n"
            "fs.symlinkSync('/etc/passwd', '/job/out/passwd');\n"
            "fs.symlinkSync('/var/run/docker.sock', '/job/out/docker.sock');\n"
            "fs.symlinkSync('/etc', '/job/out/etc-dir');\n"
            "require('child_process').execFileSync('mkfifo', ['/job/out/pipe']);\n"
            "fs.writeFileSync('/job/out/ok.txt', 'fine');\n",
        ),
    ],
)
async def test_symlinks_and_special_files_in_out_are_refused(
    run_script: RunScript, language: str, script: str
) -> None:
    run = await run_script(script, language=language)
    assert run.outcome.status == "succeeded", run.outcome
    assert [(a.name, a.data) for a in run.outcome.artifacts] == [("ok.txt", b"fine")]
    assert sorted(run.outcome.rejected_artifacts) == [
        "docker.sock (symlink)",
        "etc-dir (symlink)",
        "passwd (symlink)",
        "pipe (fifo)",
    ]


async def test_result_file_symlink_is_not_followed(run_script: RunScript) -> None:
    script = 'ln -s /etc/passwd "$SCRIPTBOX_RESULT"\n'
    run = await run_script(script, language="shell")
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "INVALID_RESULT"
    assert "root:" not in (run.outcome.error_message or "")


async def test_script_cannot_reach_the_runners_descriptors(run_script: RunScript) -> None:
    script = (
        "import os\n"
        "def main(data):\n"
        "    runner = os.getppid()\n"
        "    try:\n"
        "        os.listdir(f'/proc/{runner}/fd')\n"
        "        return 'listed'\n"
        "    except PermissionError:\n"
        "        return 'denied'\n"
    )
    run = await run_script(script)
    assert run.outcome.result_json == '"denied"'


async def test_the_container_stream_cannot_be_reopened_to_forge_frames(
    run_script: RunScript,
) -> None:
    # docker-init (PID 1) holds the container's stdout, the frame stream. It
    # runs as root, so the script (uid 10001) cannot reopen it; were bytes
    # injected all the same, the stream MAC would expose them (test_protocol).
    forged = (
        "import json, os, struct\n"
        "body = json.dumps({'type': 'exit', 'status': 'succeeded', 'exit_code': 0,\n"
        "                   'mac': '00' * 32}).encode()\n"
        "with open('/proc/1/fd/1', 'wb') as out:\n"
        "    out.write(struct.pack('>IB', len(body), ord('J')) + body)\n"
    )
    run = await run_script(forged)
    assert run.outcome.status == "failed", run.outcome
    assert run.outcome.error_code == "NON_ZERO_EXIT"
    assert "PermissionError" in run.stderr


def assert_hardened(host_config: dict[str, Any], limits: SandboxLimits) -> None:
    assert host_config["CapDrop"] == ["ALL"], host_config["CapDrop"]
    assert sorted(host_config["CapAdd"] or []) == ["SETGID", "SETUID"]
    assert host_config["ReadonlyRootfs"] is True
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert host_config["NetworkMode"] == "none"
    assert host_config["Privileged"] is False
    assert host_config["PidsLimit"] == limits.pids
    assert host_config["Memory"] == limits.memory_bytes
    assert host_config["MemorySwap"] == limits.memory_bytes  # no swap
    assert host_config["NanoCpus"] == limits.nano_cpus
    assert not host_config.get("Binds"), host_config.get("Binds")


async def test_warm_and_fresh_containers_are_created_hardened(
    run_script: RunScript, sandbox: DockerSandbox, docker_api: docker.APIClient
) -> None:
    await wait_for(lambda: len(sandbox.warm_container_ids) == 2)
    for container_id in sandbox.warm_container_ids:
        assert_hardened(docker_api.inspect_container(container_id)["HostConfig"], SandboxLimits())

    # Limits other than the pool's: a container made for this job.
    limits = SandboxLimits(timeout_seconds=20, memory_bytes=80 * 2**20, pids=40)
    script = "import time\nprint('up', flush=True)\ntime.sleep(20)\n"
    cancel = asyncio.Event()
    execution_id = f"hardened-{uuid.uuid4().hex[:8]}"
    task = asyncio.create_task(
        run_script(script, limits=limits, cancel=cancel, execution_id=execution_id)
    )
    found: list[dict[str, Any]] = []

    def labelled() -> bool:
        found[:] = docker_api.containers(
            filters={"label": f"{LABEL_EXECUTION}={execution_id}", "status": "running"}
        )
        return bool(found)

    try:
        await wait_for(labelled)
        assert_hardened(docker_api.inspect_container(found[0]["Id"])["HostConfig"], limits)
    finally:
        cancel.set()
        await task
