"""The client's subcommands of `scriptbox` (login, ls, cat, push, pull, run,
logs, runs): each reads its options, calls the service through the modules
beside it, and prints. Errors print the service's message and code, never a
traceback; the exit codes are in client/outcomes.py."""

from __future__ import annotations

import functools
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, ParamSpec, TypeVar

import click

from client.config import Profile, current_profile, normalized_url, require_token, save_profile
from client.errors import CliError, Conflict, ServiceError
from client.follow import Ending, exit_code_of, follow
from client.http import Api
from client.outcomes import ExitCode
from client.output import as_json, line, note, on_terminal, spinner, table
from client.paths import joined, tree_path
from client.pull import apply_pull, plan_pull_of
from client.push import apply_push, plan_push_of
from client.sync_plan import Plan
from client.tree import read_tree

P = ParamSpec("P")
T = TypeVar("T")


def reports_errors(command: Callable[P, T]) -> Callable[P, T]:
    """A CliError becomes `error: message [CODE]` on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except CliError as exc:
            click.echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None
        except OSError as exc:
            click.echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(ExitCode.LOCAL_FILE) from None

    return wrapper


def _api(profile: Profile | None = None) -> Api:
    profile = profile or current_profile()
    return Api(profile.url, require_token(profile))


# -- login ---------------------------------------------------------------------

ME = "{ me { username } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }"
NEW_TOKEN = (
    "mutation($n: String!) { createApiToken(name: $n, scopes: [READ, RUN, WRITE]) { token } }"
)


@click.command()
@click.option("--url", help="The service, e.g. http://127.0.0.1:8000 (default: SCRIPTBOX_URL).")
@click.option("--token", help="An API token (sbx_...) to store instead of signing in.")
@click.option("--username", help="Asked for when not given.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@reports_errors
def login(url: str | None, token: str | None, username: str | None, password_stdin: bool) -> None:
    """Sign in and store the service's URL and an API token (mode 0600)."""
    url = normalized_url(url) if url else current_profile().url
    if token is None:
        username = username or click.prompt("Username")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True)
        with Api(url, None) as anonymous:
            session = anonymous.query(LOGIN, {"u": username, "p": password})["login"]
        with Api(url, str(session["accessToken"])) as person:
            name = f"scriptbox CLI on {socket.gethostname()}"
            token = str(person.query(NEW_TOKEN, {"n": name})["createApiToken"]["token"])
    with Api(url, token) as api:
        who = api.query(ME)["me"]["username"]
    path = save_profile(Profile(url, token))
    note(f"logged in to {url} as {who}; token stored in {path}")


# -- ls, cat -------------------------------------------------------------------


@click.command("ls")
@click.argument("path", required=False, default="")
@reports_errors
def list_tree(path: str) -> None:
    """List a folder (default: the top of your tree), or show one script."""
    root = tree_path(path)
    with _api() as api:
        tree = read_tree(api)
    if root in tree.scripts:
        script = tree.scripts[root]
        rows = [[PurePosixPath(root).name, script.language.lower(), str(script.version)]]
    elif root == "" or root in tree.folders:
        folders, scripts = tree.children(root)
        rows = [[PurePosixPath(f.path).name + "/", "folder", ""] for f in folders]
        rows += [[PurePosixPath(s.path).name, s.language.lower(), str(s.version)] for s in scripts]
    else:
        raise ServiceError(f"{root} is not in your tree", "NOT_FOUND")
    table(["Name", "Kind", "Version"], rows)


CONTENT_BY_PATH = "query($p: String!) { script(path: $p) { content } }"


@click.command("cat")
@click.argument("path")
@reports_errors
def cat(path: str) -> None:
    """Print a script's current content."""
    with _api() as api:
        script = api.query(CONTENT_BY_PATH, {"p": tree_path(path)})["script"]
    if script is None:
        raise ServiceError(f"no script at {path}", "NOT_FOUND")
    sys.stdout.write(script["content"])


# -- push, pull ----------------------------------------------------------------


def _show(plan: Plan, where: Callable[[str], str], first: list[str] | None = None) -> None:
    for folder in first or []:
        line(f"{'create folder':<14} {folder}")
    for step in plan.steps:
        detail = f"  ({step.detail})" if step.detail else ""
        line(f"{step.action.value:<14} {where(step.path)}{detail}")
    changes = len(plan.changes) + len(first or [])
    line(f"{changes} to change, {len(plan.unchanged)} unchanged, {len(plan.conflicts)} conflicts")


def _stop_on_conflicts(plan: Plan) -> None:
    if plan.conflicts:
        paths = ", ".join(step.path for step in plan.conflicts)
        raise Conflict(f"conflicts at {paths}; nothing was written")


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--to", "target", default="", help="The folder in your tree (default: the top).")
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing.")
@click.option("--delete", is_flag=True, help="Delete scripts and folders that are not in DIR.")
@click.option("--force", is_flag=True, help="Overwrite scripts changed on the server since.")
@reports_errors
def push(directory: Path, target: str, dry_run: bool, delete: bool, force: bool) -> None:
    """Sync a local folder into your tree: only what changed, after a plan."""
    with _api() as api:
        planned = plan_push_of(api, directory, tree_path(target), delete, force)
        _show(planned.plan, lambda path: joined(planned.root, path), planned.new_root_folders)
        _stop_on_conflicts(planned.plan)
        if dry_run:
            note("dry run: nothing was written")
            return
        apply_push(api, directory, planned)


@click.command()
@click.argument("path")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing.")
@click.option("--force", is_flag=True, help="Overwrite local files changed since the last sync.")
@reports_errors
def pull(path: str, directory: Path, dry_run: bool, force: bool) -> None:
    """Copy a folder of your tree (or one script) into a local folder."""
    source = tree_path(path)
    with _api() as api:
        planned = plan_pull_of(api, source, directory, force)
        _show(planned.plan, lambda relative: str(directory / relative))
        _stop_on_conflicts(planned.plan)
        if dry_run:
            note("dry run: nothing was written")
            return
        apply_pull(api, directory, planned)


# -- run, logs, runs -----------------------------------------------------------

UPLOAD = (
    "mutation($f: Upload!, $p: String) { uploadFile(file: $f, prefix: $p, replace: true) { key } }"
)
RUN = "mutation($i: RunScriptInput!) { runScript(input: $i) { id status } }"


def _input_of(given: str | None) -> Any:
    if given is None:
        return None
    text = sys.stdin.read() if given == "-" else given
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"--input is not JSON: {exc}", ExitCode.USAGE, "BAD_USER_INPUT") from None


def _file_keys(api: Api, specs: tuple[str, ...]) -> list[str] | None:
    """KEY names a file already stored; KEY=LOCALFILE uploads it there first."""
    keys: list[str] = []
    for spec in specs:
        key, separator, local = spec.partition("=")
        if separator:
            file = Path(local)
            if not file.is_file():
                raise CliError(f"--file {spec}: {local} is not a file", ExitCode.USAGE)
            prefix = str(PurePosixPath(key).parent)
            uploaded = api.upload(
                UPLOAD,
                {"f": None, "p": None if prefix == "." else prefix},
                "variables.f",
                file,
                PurePosixPath(key).name,
            )
            key = str(uploaded["uploadFile"]["key"])
        keys.append(key)
    return keys or None


def _finish(ending: Ending) -> None:
    if ending.result is not None:
        line(as_json(ending.result))
    if ending.status != "SUCCEEDED":
        reason = f": {ending.error_message}" if ending.error_message else ""
        code = f" [{ending.error_code}]" if ending.error_code else ""
        click.echo(f"{ending.status.lower()}{reason}{code}", err=True)
    elif on_terminal():
        note(f"{ending.execution_id} succeeded")
    raise click.exceptions.Exit(exit_code_of(ending))


CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { id status } }"


def _follow(profile: Profile, execution_id: str, cancel_on_interrupt: bool = False) -> None:
    """Stream the run to its end. Ctrl-C stops following; with
    `cancel_on_interrupt` (`run --follow`, as Ctrl-C stops `docker run`),
    it also cancels the run."""
    try:
        ending = follow(
            profile.url,
            require_token(profile),
            execution_id,
            waiting=lambda: spinner(f"{execution_id} queued"),
        )
    except KeyboardInterrupt:
        if not cancel_on_interrupt:
            note(f"stopped following; the run goes on: scriptbox logs {execution_id} --follow")
            raise click.exceptions.Exit(ExitCode.CANCELLED) from None
        _cancel(profile, execution_id)
        raise click.exceptions.Exit(ExitCode.CANCELLED) from None
    _finish(ending)


def _cancel(profile: Profile, execution_id: str) -> None:
    note(f"cancelling {execution_id}")
    with _api(profile) as api:
        status = str(api.query(CANCEL, {"id": execution_id})["cancelExecution"]["status"])
    # A run that ended just before the cancel keeps its own end.
    note(f"{execution_id} {status.lower()}")


@click.command()
@click.argument("path")
@click.option("--input", "given_input", metavar="JSON|-", help="The input: JSON, or - for stdin.")
@click.option(
    "--file",
    "files",
    multiple=True,
    metavar="KEY[=LOCALFILE]",
    help="A file for /job/in/: a stored key, or a local file uploaded under KEY. Repeatable.",
)
@click.option("--timeout", type=float, help="Seconds before the run is stopped.")
@click.option("--follow", "-f", "following", is_flag=True, help="Stream the output to the end.")
@reports_errors
def run(
    path: str,
    given_input: str | None,
    files: tuple[str, ...],
    timeout: float | None,
    following: bool,
) -> None:
    """Run a script. Prints its execution id, or with --follow its output,
    ending with the script's exit code (or 124 timed out, 125 failed before
    start, 130 cancelled); Ctrl-C while following cancels the run."""
    profile = current_profile()
    with _api(profile) as api:
        data = _input_of(given_input)
        run_input = {
            "path": tree_path(path),
            "input": data,
            "files": _file_keys(api, files),
            "timeoutSeconds": timeout,
        }
        execution = api.query(RUN, {"i": run_input})["runScript"]
    execution_id = str(execution["id"])
    if not following:
        line(execution_id)
        return
    if on_terminal():
        note(f"{execution_id} queued")
    _follow(profile, execution_id, cancel_on_interrupt=True)


OUTPUT = "query($id: ID!) { execution(id: $id) { id status stdout stderr } }"


@click.command()
@click.argument("execution_id")
@click.option("--follow", "-f", "following", is_flag=True, help="Stream until the run ends.")
@reports_errors
def logs(execution_id: str, following: bool) -> None:
    """Print a run's output; with --follow, stream it and exit as `run --follow` does."""
    profile = current_profile()
    if following:
        _follow(profile, execution_id)
        return
    with _api(profile) as api:
        execution = api.query(OUTPUT, {"id": execution_id})["execution"]
    if execution is None:
        raise ServiceError(f"no execution {execution_id}", "NOT_FOUND")
    sys.stdout.write(execution["stdout"])
    sys.stdout.flush()
    sys.stderr.write(execution["stderr"])


SCRIPT_ID = "query($p: String!) { script(path: $p) { id } }"
RUNS = """
query($s: ID, $n: Int!) {
  executions(scriptId: $s, first: $n) {
    id status exitCode queuedAt durationMs script { path }
  }
}
"""


@click.command()
@click.argument("path", required=False)
@click.option("--limit", "-n", default=20, show_default=True, help="How many, newest first.")
@reports_errors
def runs(path: str | None, limit: int) -> None:
    """List recent runs, newest first (of one script when PATH is given)."""
    with _api() as api:
        script_id = None
        if path:
            script = api.query(SCRIPT_ID, {"p": tree_path(path)})["script"]
            if script is None:
                raise ServiceError(f"no script at {path}", "NOT_FOUND")
            script_id = script["id"]
        found = api.query(RUNS, {"s": script_id, "n": limit})["executions"]
    rows = [
        [
            str(e["id"]),
            (e.get("script") or {}).get("path") or "(code)",
            str(e["status"]),
            "" if e["exitCode"] is None else str(e["exitCode"]),
            str(e["queuedAt"]),
            "" if e["durationMs"] is None else f"{e['durationMs']} ms",
        ]
        for e in found
    ]
    table(["Execution", "Script", "Status", "Exit", "Queued", "Duration"], rows)


COMMANDS: list[click.Command] = [login, list_tree, cat, push, pull, run, logs, runs]
