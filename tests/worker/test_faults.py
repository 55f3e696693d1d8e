"""Hostile and broken scripts through GraphQL: each ends with the right status
and code, the service stays responsive, and no container is left behind."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from sandbox.container_spec import LABEL_EXECUTION
from tests.support.client import GraphQLClient
from tests.support.containers import labelled_containers
from tests.support.runs import run

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

TIMEOUT = 3.0


def containers_of(execution_id: str) -> list[dict[str, Any]]:
    return labelled_containers(LABEL_EXECUTION, execution_id)


async def assert_clean_and_responsive(client: GraphQLClient, execution: dict[str, Any]) -> None:
    for _ in range(50):
        if not containers_of(execution["id"]):
            break
        await asyncio.sleep(0.1)
    assert containers_of(execution["id"]) == []
    # Still serving (the client's own timeout guards against a hang).
    assert (await client.data("{ me { id } }"))["me"]["id"]


FAULTS: list[tuple[str, str, str, str, str, tuple[str, ...]]] = [
    # (id, file name, content, status, error code, message contains one of)
    (
        # The main shell needs no fork after the first, so only the timeout
        # ends it; the runner must still kill every process of the bomb.
        "fork-bomb",
        "fork.sh",
        "bomb() { bomb | bomb & }; bomb\nwhile :; do :; done\n",
        "TIMED_OUT",
        "TIMEOUT",
        ("timed out",),
    ),
    (
        "memory-bomb",
        "mem.py",
        "def main(data):\n    hog = []\n"
        "    while True:\n        hog.append(bytearray(16 * 2**20))\n",
        "FAILED",
        "OUT_OF_MEMORY",
        ("memory",),
    ),
    (
        "sleep-past-timeout",
        "sleep.py",
        "import time\ntime.sleep(60)\n",
        "TIMED_OUT",
        "TIMEOUT",
        ("timed out",),
    ),
    ("cpu-spin", "spin.py", "while True:\n    pass\n", "TIMED_OUT", "TIMEOUT", ("timed out",)),
    (
        "fill-workdir",
        "fill.py",
        "def main(data):\n    with open('big', 'wb') as f:\n"
        "        for _ in range(200):\n            f.write(b'0' * 2**20)\n",
        "FAILED",
        "SCRIPT_ERROR",
        ("No space left on device", "File too large"),
    ),
    (
        # /opt/scriptbox/env belongs to the script's uid in the image: only a
        # read-only root refuses the write, and then with EROFS, not EACCES.
        "read-only-root",
        "ro.py",
        "def main(data):\n    open('/opt/scriptbox/env/evil.py', 'w').write('x')\n",
        "FAILED",
        "SCRIPT_ERROR",
        ("Read-only file system",),
    ),
    (
        "non-json-result",
        "obj.py",
        "def main(data):\n    return object()\n",
        "FAILED",
        "INVALID_RESULT",
        ("JSON",),
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "status", "code", "message"),
    [f[1:] for f in FAULTS],
    ids=[f[0] for f in FAULTS],
)
async def test_fault_ends_properly(
    alice: GraphQLClient, name: str, content: str, status: str, code: str, message: tuple[str, ...]
) -> None:
    started = time.monotonic()
    execution = await run(alice, content, name=name, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert execution["status"] == status, execution
    assert execution["error"]["code"] == code, execution
    assert any(part in execution["error"]["message"] for part in message), execution["error"]
    assert elapsed < TIMEOUT + 15
    await assert_clean_and_responsive(alice, execution)


async def test_timeout_is_enforced_within_about_a_second(alice: GraphQLClient) -> None:
    execution = await run(alice, "import time\ntime.sleep(60)\n", name="late.py", timeout=2)
    assert execution["status"] == "TIMED_OUT"
    assert 2000 <= execution["durationMs"] <= 3500, execution["durationMs"]


async def test_endless_output_is_capped_and_flagged(alice: GraphQLClient) -> None:
    execution = await run(alice, "while True:\n    print('x' * 1000)\n", name="spam.py", timeout=4)
    assert execution["status"] == "TIMED_OUT"
    assert execution["outputTruncated"] is True
    assert 0 < len(execution["stdout"].encode()) <= 2**20
    await assert_clean_and_responsive(alice, execution)


async def test_no_network_inside(alice: GraphQLClient) -> None:
    content = (
        "import socket\n"
        "def main(data):\n"
        "    lines = open('/proc/net/dev').readlines()[2:]\n"
        "    interfaces = [line.split(':')[0].strip() for line in lines]\n"
        "    try:\n"
        "        socket.getaddrinfo('scriptbox.invalid', 80)\n"
        "        resolved = True\n"
        "    except OSError:\n"
        "        resolved = False\n"
        "    return {'interfaces': interfaces, 'resolved': resolved}\n"
    )
    execution = await run(alice, content, name="net.py")
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == {"interfaces": ["lo"], "resolved": False}


async def test_no_host_files_or_docker_socket(alice: GraphQLClient, tmp_path: Any) -> None:
    marker = tmp_path / "host-only-marker"
    marker.write_text("secret")
    content = (
        "import os\n"
        "def main(data):\n"
        "    return {'sock': os.path.exists('/var/run/docker.sock'),\n"
        "            'marker': os.path.exists(data['marker']), 'uid': os.getuid()}\n"
    )
    execution = await run(alice, content, name="host.py", input={"marker": str(marker)})
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"]["sock"] is False
    assert execution["result"]["marker"] is False
    assert execution["result"]["uid"] != 0


async def test_background_process_does_not_outlive_main(alice: GraphQLClient) -> None:
    content = (
        "import subprocess\n"
        "def main(data):\n"
        "    subprocess.Popen(['sleep', '120'])\n"
        "    return 'left a child'\n"
    )
    started = time.monotonic()
    execution = await run(alice, content, name="bg.py", timeout=30)
    assert execution["status"] == "SUCCEEDED", execution
    assert time.monotonic() - started < 15
    await assert_clean_and_responsive(alice, execution)


async def test_planted_symlinks_are_harmless(alice: GraphQLClient) -> None:
    content = (
        "import os\n"
        "def main(data):\n"
        "    os.makedirs('/job/out/sub', exist_ok=True)\n"
        "    os.symlink('/etc/passwd', '/job/out/passwd')\n"
        "    os.symlink('/', '/job/out/sub/root-link')\n"
        "    open('/job/out/kept.txt', 'w').write('kept')\n"
        "    return 'planted'\n"
    )
    execution = await run(alice, content, name="links.py")
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == "planted"
    shown = await alice.data(
        "query($id: ID!) { execution(id: $id) { artifacts { name size } rejectedArtifacts } }",
        {"id": execution["id"]},
    )
    assert shown["execution"]["artifacts"] == [{"name": "kept.txt", "size": 4}]
    assert sorted(shown["execution"]["rejectedArtifacts"]) == [
        "passwd (symlink)",
        "sub/root-link (symlink)",
    ]
    await assert_clean_and_responsive(alice, execution)


async def test_output_that_is_not_utf8(alice: GraphQLClient) -> None:
    content = "import sys\nsys.stdout.buffer.write(b'caf\\xe9 \\xff ok\\n')\n"
    execution = await run(alice, content, name="bytes.py")
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["stdout"].endswith(" ok\n")
    assert "\ufffd" in execution["stdout"]
