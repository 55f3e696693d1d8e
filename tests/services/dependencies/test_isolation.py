"""A run with dependencies keeps every hardening rule: no network (the wheels
came in over stdio), the environment read-only, no host paths mounted."""

from __future__ import annotations

import pytest

from tests.support.client import GraphQLClient
from tests.support.dependencies import create, pep723, run

# The suite's service, on SQLite and PostgreSQL (local storage).
pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

PROBE = """
import os, socket, six


def main(data):
    interfaces = [line.split(':')[0].strip() for line in open('/proc/net/dev').readlines()[2:]]
    try:
        socket.getaddrinfo('scriptbox.invalid', 443)
        dns = 'resolved'
    except OSError as exc:
        dns = type(exc).__name__
    try:
        # Nothing listens on the container's own loopback, and there is no other
        # interface: every connection attempt fails inside the container.
        socket.create_connection(('127.0.0.1', 443), timeout=2).close()
        connect = 'connected'
    except OSError as exc:
        connect = type(exc).__name__
    try:
        open(os.path.join(os.path.dirname(six.__file__), 'planted.py'), 'w')
        write = 'written'
    except OSError as exc:
        write = exc.strerror
    mounts = {}
    for line in open('/proc/self/mountinfo'):
        fields = line.split()
        mounts[fields[4]] = fields[5].split(',')[0]
    return {'interfaces': interfaces, 'dns': dns, 'connect': connect, 'write': write,
            'env_mount': mounts.get('/opt/scriptbox/env'), 'root': mounts.get('/')}
"""


async def test_no_network_and_a_read_only_environment(alice: GraphQLClient) -> None:
    created = await create(alice, "probe.py", pep723("six==1.17.0", body=PROBE))
    execution = await run(alice, created["id"])
    assert execution["status"] == "SUCCEEDED", execution
    result = execution["result"]
    assert result["interfaces"] == ["lo"]
    assert result["dns"] == "gaierror"
    assert result["connect"] != "connected"
    assert result["write"] == "Read-only file system"
    assert result["env_mount"] == "ro"
    assert result["root"] == "ro"
