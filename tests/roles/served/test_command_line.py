"""The `scriptbox` client (login, ls, cat, push, pull, run, logs, runs) as a
user runs it: the installed command in a process of its own, against the
served process. The client is a client like any other, so one shape of the
service (embedded) is enough for most; following a run is also tried in the
scale-out shape, where its events cross Redis from a separate worker."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.roles.served.conftest import EMBEDDED, SCALE_OUT, Served
from tests.support.client import PASSWORD, GraphQLClient
from tests.support.command_line import CommandLine, command_line
from tests.support.tree import SCRIPT_BY_PATH, UPDATE_SCRIPT, folder

EMBEDDED_ONLY = pytest.mark.parametrize("served", [EMBEDDED], indirect=True)
BOTH_SHAPES = pytest.mark.parametrize("served", [EMBEDDED, SCALE_OUT], indirect=True)

ANSI = re.compile(r"\x1b\[")
BOX = re.compile("[\u2500-\u257f]")  # the box-drawing characters of a table


@pytest.fixture
async def cli(served: Served, alice: GraphQLClient, tmp_path: Path) -> CommandLine:
    """Alice's command line, logged in with her password."""
    line = command_line(served.url, tmp_path)
    username = alice.user["username"]  # type: ignore[attr-defined]
    done = await line("login", "--username", username, "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    return line


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def scripts_in(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


async def on_server(alice: GraphQLClient, path: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await alice.data(SCRIPT_BY_PATH, {"path": path}))["script"]
    return found


PROJECT = {
    "hello.py": "def main(data):\n    print('hello')\n    return {'n': data['n'] * 2}\n",
    "lib/tool.sh": "echo tool\n",
    "lib/deep/more.sh": "echo more\n",
    "README.md": "not a script\n",
}


@EMBEDDED_ONLY
async def test_login_stores_the_token_for_its_owner_only(
    cli: CommandLine, alice: GraphQLClient, tmp_path: Path
) -> None:
    mode = stat.S_IMODE(cli.config_file.stat().st_mode)
    assert mode == 0o600, oct(mode)
    stored = json.loads(cli.config_file.read_text())
    assert stored["token"].startswith("sbx_")
    # The stored token is what the next command uses, and SCRIPTBOX_TOKEN overrides it.
    assert (await cli("ls")).returncode == 0
    refused = await cli.with_env(SCRIPTBOX_TOKEN="sbx_not-a-token")("ls")
    assert refused.returncode == 3
    assert "[UNAUTHENTICATED]" in refused.stderr
    # `login --token` stores a token given, after checking it.
    other = command_line(stored["url"], tmp_path / "other")
    done = await other("login", "--token", stored["token"])
    assert done.returncode == 0, done.stderr
    assert alice.user["username"] in done.stderr  # type: ignore[attr-defined]
    assert stat.S_IMODE(other.config_file.stat().st_mode) == 0o600


@EMBEDDED_ONLY
async def test_login_asks_for_the_password_without_showing_it(
    served: Served, alice: GraphQLClient, tmp_path: Path
) -> None:
    line = command_line(served.url, tmp_path)
    username = alice.user["username"]  # type: ignore[attr-defined]
    answers = {"Username: ": username, "Password: ": PASSWORD}
    typed = await line.on_terminal("login", answers=answers)
    assert typed.returncode == 0, typed.stdout
    assert username in typed.stdout  # echoed as typed, and named when logged in
    assert PASSWORD not in typed.stdout
    assert json.loads(line.config_file.read_text())["token"].startswith("sbx_")


@EMBEDDED_ONLY
async def test_push_dry_run_push_update_and_pull_round_trip(
    cli: CommandLine, alice: GraphQLClient, tmp_path: Path
) -> None:
    local = write(tmp_path / "project", PROJECT)

    dry = await cli("push", str(local), "--to", "proj", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    plan = dry.stdout.splitlines()
    for expected in (
        "create folder  proj",
        "create folder  proj/lib",
        "create folder  proj/lib/deep",
        "create         proj/hello.py",
        "create         proj/lib/tool.sh",
        "create         proj/lib/deep/more.sh",
    ):
        assert expected in plan, dry.stdout
    assert any(line.startswith("skip           proj/README.md") for line in plan)
    assert "nothing was written" in dry.stderr
    assert await on_server(alice, "proj/hello.py") is None
    assert not (local / ".scriptbox-sync.json").exists()

    pushed = await cli("push", str(local), "--to", "proj")
    assert pushed.returncode == 0, pushed.stderr
    assert (await on_server(alice, "proj/lib/deep/more.sh")) is not None

    # One file changed: only it gets a new version.
    (local / "hello.py").write_text(PROJECT["hello.py"] + "# edited\n")
    again = await cli("push", str(local), "--to", "proj")
    assert again.returncode == 0, again.stderr
    assert "update         proj/hello.py  (v1 -> v2)" in again.stdout
    assert "tool.sh" not in again.stdout
    assert "1 to change, 2 unchanged, 0 conflicts" in again.stdout
    hello, tool = (
        await on_server(alice, "proj/hello.py"),
        await on_server(alice, "proj/lib/tool.sh"),
    )
    assert hello is not None and tool is not None
    assert (hello["version"], tool["version"]) == (2, 1)
    assert hello["content"].endswith("# edited\n")

    listed = await cli("ls", "proj")
    assert listed.stdout.splitlines() == ["lib/\tfolder\t", "hello.py\tpython\t2"]
    assert (await cli("cat", "proj/hello.py")).stdout == hello["content"]

    copy = tmp_path / "copy"
    pulled = await cli("pull", "proj", str(copy))
    assert pulled.returncode == 0, pulled.stderr
    pushed_scripts = {k: v for k, v in scripts_in(local).items() if k != "README.md"}
    assert scripts_in(copy) == pushed_scripts
    # Pulled, then pushed unchanged: nothing to do.
    unchanged = await cli("push", str(copy), "--to", "proj")
    assert "0 to change, 3 unchanged, 0 conflicts" in unchanged.stdout


@EMBEDDED_ONLY
async def test_a_tree_deeper_than_one_query_reads_is_synced_whole(
    cli: CommandLine, tmp_path: Path
) -> None:
    """The client reads a few levels per query, then the folders at the edge
    again, several per request: all of them must be seen."""
    files = {f"a/b/c/d/e{i}/f/s.sh": f"echo {i}\n" for i in range(6)}
    local = write(tmp_path / "deep", {**files, "a/b/c/top.sh": "echo top\n"})
    assert (await cli("push", str(local))).returncode == 0
    again = await cli("push", str(local))
    assert "0 to change, 7 unchanged, 0 conflicts" in again.stdout
    listed = await cli("ls", "a/b/c/d/e5/f")
    assert listed.stdout.splitlines() == ["s.sh\tshell\t1"]


@EMBEDDED_ONLY
async def test_push_delete_removes_what_is_gone_locally(
    cli: CommandLine, alice: GraphQLClient, tmp_path: Path
) -> None:
    local = write(tmp_path / "project", PROJECT)
    assert (await cli("push", str(local))).returncode == 0
    (local / "lib" / "tool.sh").unlink()
    (local / "lib" / "deep" / "more.sh").unlink()
    (local / "lib" / "deep").rmdir()

    kept = await cli("push", str(local))
    assert "0 to change" in kept.stdout
    assert await on_server(alice, "lib/tool.sh") is not None

    deleted = await cli("push", str(local), "--delete")
    assert deleted.returncode == 0, deleted.stderr
    assert "delete         lib/tool.sh" in deleted.stdout
    assert "delete folder  lib/deep" in deleted.stdout
    assert await on_server(alice, "lib/tool.sh") is None
    assert await on_server(alice, "lib/deep/more.sh") is None
    assert await on_server(alice, "hello.py") is not None
    assert (await cli("ls")).stdout.splitlines() == ["lib/\tfolder\t", "hello.py\tpython\t1"]


@EMBEDDED_ONLY
async def test_a_conflict_is_reported_and_nothing_is_written(
    cli: CommandLine, alice: GraphQLClient, tmp_path: Path
) -> None:
    local = write(tmp_path / "project", PROJECT)
    assert (await cli("push", str(local))).returncode == 0
    # Someone changes hello.py on the server; here it is edited too, and a
    # new script waits to be pushed with it.
    hello = await on_server(alice, "hello.py")
    assert hello is not None
    theirs = "def main(data):\n    return 'theirs'\n"
    await alice.data(UPDATE_SCRIPT, {"id": hello["id"], "input": {"content": theirs}})
    (local / "hello.py").write_text("def main(data):\n    return 'mine'\n")
    write(local, {"new.py": "x = 1\n"})

    refused = await cli("push", str(local))
    assert refused.returncode == 5
    assert "conflict       hello.py  (changed on the server since the last sync (now v2)" in (
        refused.stdout
    )
    assert "error: conflicts at hello.py; nothing was written [CONFLICT]" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert await on_server(alice, "new.py") is None
    assert (await on_server(alice, "hello.py") or {})["content"] == theirs

    # A folder on the server where a file is here.
    await folder(alice, "new.py")
    clash = await cli("push", str(local), "--force")
    assert clash.returncode == 5
    assert "conflict       new.py  (a file here, a folder on the server)" in clash.stdout
    assert (await on_server(alice, "hello.py") or {})["content"] == theirs

    # Pull does not overwrite an edit made here since the last sync.
    pulled = await cli("pull", "", str(local))
    assert pulled.returncode == 5
    assert "changed here since the last sync" in pulled.stdout
    assert (local / "hello.py").read_text() == "def main(data):\n    return 'mine'\n"


@EMBEDDED_ONLY
async def test_a_push_that_fails_halfway_is_undone(
    cli: CommandLine, alice: GraphQLClient, tmp_path: Path
) -> None:
    local = write(tmp_path / "project", {"b.py": "B = 1\n"})
    assert (await cli("push", str(local))).returncode == 0
    # Pushed in path order: a_new.py is created and b.py updated before
    # the service refuses zz_broken.py.
    write(local, {"a_new.py": "A = 1\n", "b.py": "B = 2\n", "zz_broken.py": "def main(:\n"})
    failed = await cli("push", str(local))
    assert failed.returncode == 3
    assert "[INVALID_SCRIPT]" in failed.stderr
    assert "push stopped at zz_broken.py" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert await on_server(alice, "a_new.py") is None
    assert await on_server(alice, "zz_broken.py") is None
    assert (await on_server(alice, "b.py") or {})["content"] == "B = 1\n"


GET_STATUS = "query($id: ID!) { execution(id: $id) { status } }"
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { status } }"
RUNS = {
    "double.py": (
        "def main(data):\n"
        "    for word in ('one', 'two', 'three'):\n"
        "        print(word, flush=True)\n"
        "    return {'n': data['n'] * 2}\n"
    ),
    "exits.sh": "echo before\necho oops >&2\nexit 7\n",
    "slow.sh": "echo started\nsleep 60\n",
    "needs.sh": '. "$SCRIPTBOX_LIB/lib/missing.sh"\necho never\n',
    "reads.sh": "cat /job/in/data_numbers.txt\n",  # the key, with / as _
}


@BOTH_SHAPES
async def test_run_follow_streams_output_and_exits_with_the_outcome(
    cli: CommandLine, tmp_path: Path
) -> None:
    assert (await cli("push", str(write(tmp_path / "runs", RUNS)))).returncode == 0

    ok = await cli("run", "double.py", "--input", '{"n": 21}', "--follow", merged=True)
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout == 'one\ntwo\nthree\n{"n": 42}\n'
    from_stdin = await cli("run", "double.py", "--input", "-", "-f", stdin='{"n": 2}')
    assert from_stdin.stdout.endswith('{"n": 4}\n')

    failed = await cli("run", "exits.sh", "--follow")
    assert failed.returncode == 7, failed.stderr
    assert failed.stdout == "before\n"
    assert failed.stderr.startswith("oops\n")
    assert failed.stderr.rstrip().endswith("[NON_ZERO_EXIT]")

    timed_out = await cli("run", "slow.sh", "--timeout", "1", "--follow")
    assert timed_out.returncode == 124, timed_out.stderr
    assert timed_out.stdout == "started\n"
    assert "[TIMEOUT]" in timed_out.stderr

    never_started = await cli("run", "needs.sh", "--follow")
    assert never_started.returncode == 125, never_started.stderr
    assert never_started.stdout == ""
    assert "[MISSING_IMPORT]" in never_started.stderr

    numbers = write(tmp_path / "in", {"numbers.txt": "1 2 3\n"}) / "numbers.txt"
    with_file = await cli("run", "reads.sh", "--file", f"data/numbers.txt={numbers}", "-f")
    assert (with_file.returncode, with_file.stdout) == (0, "1 2 3\n"), with_file.stderr


@EMBEDDED_ONLY
async def test_ctrl_c_cancels_a_followed_run_and_only_stops_following_logs(
    cli: CommandLine, alice: GraphQLClient, tmp_path: Path
) -> None:
    assert (await cli("push", str(write(tmp_path / "runs", RUNS)))).returncode == 0
    stopped = await cli.interrupted("run", "slow.sh", "--follow", once="started")
    assert stopped.returncode == 130, stopped.stderr
    cancelled = re.search(r"cancelling ([0-9a-f-]{36})", stopped.stderr)
    assert cancelled, stopped.stderr
    assert f"{cancelled[1]} cancelled" in stopped.stderr
    assert (await alice.data(GET_STATUS, {"id": cancelled[1]}))["execution"]["status"] == (
        "CANCELLED"
    )

    queued = await cli("run", "slow.sh")
    execution_id = queued.stdout.strip()
    left = await cli.interrupted("logs", execution_id, "--follow", once="started")
    assert left.returncode == 130, left.stderr
    assert "the run goes on" in left.stderr
    assert (await alice.data(GET_STATUS, {"id": execution_id}))["execution"]["status"] == (
        "RUNNING"
    )
    await alice.data(CANCEL, {"id": execution_id})


@EMBEDDED_ONLY
async def test_run_without_follow_then_logs_and_runs(cli: CommandLine, tmp_path: Path) -> None:
    assert (await cli("push", str(write(tmp_path / "runs", RUNS)))).returncode == 0
    queued = await cli("run", "exits.sh")
    assert queued.returncode == 0, queued.stderr
    execution_id = queued.stdout.strip()

    followed = await cli("logs", execution_id, "--follow")
    assert (followed.returncode, followed.stdout) == (7, "before\n")
    stored = await cli("logs", execution_id)
    assert (stored.returncode, stored.stdout, stored.stderr) == (0, "before\n", "oops\n")

    listed = await cli("runs", "exits.sh")
    assert listed.returncode == 0, listed.stderr
    row = listed.stdout.splitlines()[0].split("\t")
    assert row[:4] == [execution_id, "exits.sh", "FAILED", "7"]


@EMBEDDED_ONLY
async def test_plain_output_without_a_terminal_and_a_table_on_one(
    cli: CommandLine, tmp_path: Path
) -> None:
    assert (await cli("push", str(write(tmp_path / "runs", RUNS)))).returncode == 0
    assert (await cli("run", "double.py", "--input", '{"n": 1}', "-f")).returncode == 0

    piped = await cli("runs")
    assert not ANSI.search(piped.stdout) and not BOX.search(piped.stdout)
    assert piped.stdout.splitlines()[0].split("\t")[1:4] == ["double.py", "SUCCEEDED", "0"]
    listed = await cli("ls")
    assert not ANSI.search(listed.stdout) and not BOX.search(listed.stdout)

    shown = await cli.on_terminal("runs")
    assert shown.returncode == 0, shown.stdout
    assert BOX.search(shown.stdout) and "Execution" in shown.stdout
    assert "double.py" in shown.stdout
    # Following on a terminal also says which run it is and how it ended.
    followed = await cli.on_terminal("run", "double.py", "--input", '{"n": 1}', "-f")
    assert followed.returncode == 0, followed.stdout
    assert re.search(r"[0-9a-f-]{36} queued", followed.stdout), followed.stdout
    assert re.search(r"one\r?\ntwo\r?\nthree\r?\n", followed.stdout), followed.stdout
    assert "succeeded" in followed.stdout


@EMBEDDED_ONLY
async def test_errors_show_the_code_and_message_without_a_traceback(
    cli: CommandLine, served: Served
) -> None:
    missing = await cli("cat", "nowhere/none.py")
    assert (missing.returncode, missing.stderr) == (
        3,
        "error: no script at nowhere/none.py [NOT_FOUND]\n",
    )

    refused = await cli("run", "nowhere/none.py", "-f")
    assert refused.returncode == 3
    assert refused.stderr.startswith("error: ") and "[NOT_FOUND]" in refused.stderr

    bad_input = await cli("run", "x.py", "--input", "{not json")
    assert bad_input.returncode == 2
    assert "--input is not JSON" in bad_input.stderr

    logged_out = await cli.without("XDG_CONFIG_HOME").with_env(
        XDG_CONFIG_HOME=str(cli.config_file.parent.parent / "empty")
    )("ls")
    assert logged_out.returncode == 6
    assert "not logged in" in logged_out.stderr

    unreachable = await cli.with_env(SCRIPTBOX_URL="http://127.0.0.1:9")("ls")
    assert unreachable.returncode == 4
    assert "cannot reach http://127.0.0.1:9" in unreachable.stderr

    for result in (missing, refused, bad_input, logged_out, unreachable):
        assert "Traceback" not in result.stderr
