"""The `scriptbox` command, one Click group for both faces:

- the service's roles: serve, worker, worker-health, migrate, create-user,
  prune, export-schema. Each imports and builds only its own role.
- the command-line client (client/commands.py): login, ls, cat, push, pull,
  run, logs, runs. It talks to a service over the wire only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import getpass
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec

import click

from client.commands import COMMANDS as CLIENT_COMMANDS
from core import logs
from core.metric_files import share_between_processes
from core.settings import Settings

SCHEMA_FILE = Path("schema.graphql")
P = ParamSpec("P")


def server_command(command: Callable[P, int]) -> Callable[P, None]:
    """A role's command: logs to stderr (as SCRIPTBOX_LOG_FORMAT says), and a
    bad setting (a ValueError naming its variable) is an error message and
    exit code 2, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            logs.configure(Settings.from_env().log_format)
            code = command(*args, **kwargs)
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            code = 2
        raise click.exceptions.Exit(code)

    return wrapper


@click.group(
    help="Scriptbox: run the service (serve, worker, ...) or use one as a client "
    "(login, ls, cat, push, pull, run, logs, runs).",
    context_settings={"help_option_names": ["-h", "--help"]},
)
def cli() -> None:
    pass


@cli.command(help="run the GraphQL service (uvicorn)")
@click.option("--host", help="default: SCRIPTBOX_HOST or 127.0.0.1")
@click.option("--port", type=int, help="default: SCRIPTBOX_PORT or 8000")
@click.option("--log-level", default="info", show_default=True)
@server_command
def serve(host: str | None, port: int | None, log_level: str) -> int:
    settings = Settings.from_env()
    with observed(settings):
        import uvicorn

        from graphql_api.serving import uvicorn_config
        from roles.api import build_api_app

        config = uvicorn_config(
            build_api_app(settings),
            host=host or settings.host,
            port=port or settings.port,
            log_level=log_level,
            # Logging is configured already (core/logs.py): the access log
            # goes through it too.
            log_config=None,
        )
        uvicorn.Server(config).run()
    return 0


@cli.command(help="run executions and schedules (no HTTP); see SCRIPTBOX_WORKER_*")
@server_command
def worker() -> int:
    settings = Settings.from_env()
    with observed(settings):
        from roles.worker import run_on_event_loop, run_until_stopped

        run_on_event_loop(run_until_stopped(settings))
    return 0


@contextlib.contextmanager
def observed(settings: Settings) -> Iterator[None]:
    """Metrics shared through SCRIPTBOX_METRICS_DIR (set before the metrics
    are first imported) and tracing when configured, for a serving role."""
    if settings.metrics_dir is not None:
        share_between_processes(settings.metrics_dir)
    from core import metrics, tracing

    tracing.configure(settings.otel_endpoint)
    try:
        yield
    finally:
        tracing.shutdown()
        metrics.leave()


@cli.command("worker-health", help="exit 0 when this worker's heartbeat is fresh (health checks)")
@server_command
def worker_health() -> int:
    from roles.worker import is_alive

    alive = asyncio.run(is_alive(Settings.from_env()))
    print("alive" if alive else "no recent heartbeat")
    return 0 if alive else 1


@cli.command(help="apply pending database migrations")
@server_command
def migrate() -> int:
    from roles.admin import migrate as apply_migrations

    applied = asyncio.run(apply_migrations(Settings.from_env()))
    print("\n".join(f"applied {name}" for name in applied) or "database is up to date")
    return 0


@cli.command("create-user", help="create a user account")
@click.argument("username")
@click.option("--admin", is_flag=True, help="give admin rights")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@server_command
def create_user(username: str, admin: bool, password_stdin: bool) -> int:
    from core.errors import ClientError
    from roles.admin import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    try:
        user = asyncio.run(add_user(Settings.from_env(), username, password, admin))
    except ClientError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"created {'admin ' if user.is_admin else ''}user {user.username} ({user.id})")
    return 0


@cli.command("delete-user", help="delete a user account and everything it owns")
@click.argument("username")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@server_command
def delete_user(username: str, yes: bool) -> int:
    from core.errors import ClientError
    from roles.admin import remove_user

    if not yes and not click.confirm(
        f"Delete {username} with their scripts, runs, files and services?"
    ):
        return 1
    try:
        user = asyncio.run(remove_user(Settings.from_env(), username))
    except ClientError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"deleted user {user.username} ({user.id})")
    return 0


@cli.command(help="delete old executions now, as SCRIPTBOX_RETENTION_* say")
@click.option("--dry-run", is_flag=True, help="only count what would go")
@click.option("--json", "as_json", is_flag=True, help="print the counts as JSON")
@server_command
def prune(dry_run: bool, as_json: bool) -> int:
    import json

    from roles.admin import prune as prune_executions

    settings = Settings.from_env()
    if settings.retention_days <= 0 and settings.retention_per_script <= 0:
        print(
            "retention is off: set SCRIPTBOX_RETENTION_DAYS or SCRIPTBOX_RETENTION_PER_SCRIPT",
            file=sys.stderr,
        )
    report = asyncio.run(prune_executions(settings, dry_run))
    if as_json:
        print(json.dumps(report.as_dict()))
    elif report.busy:
        print("another process is pruning now; try again later", file=sys.stderr)
    else:
        verb = "would delete" if report.dry_run else "deleted"
        print(
            f"{verb} {report.executions} executions, "
            f"{report.artifacts} artifacts ({report.artifact_bytes} bytes), "
            f"{report.stored_outputs} stored outputs ({report.stored_output_bytes} bytes)"
        )
    return 1 if report.busy else 0


@cli.command("export-schema", help="write the GraphQL SDL")
@click.option("--output", "-o", default=str(SCHEMA_FILE), help="file, or - for stdout")
@server_command
def export_schema(output: str) -> int:
    from roles.admin import schema_sdl

    sdl = schema_sdl()
    if output == "-":
        sys.stdout.write(sdl)
    else:
        Path(output).write_text(sdl)
        print(f"wrote {output}")
    return 0


for _command in CLIENT_COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """The console script: the exit code of the command (Click prints usage
    errors with code 2)."""
    try:
        cli.main(args=argv, prog_name="scriptbox", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
