"""The `scriptbox` command: serve, worker, worker-health, migrate, create-user,
export-schema. Each subcommand imports and builds only its own role."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import Iterator
from pathlib import Path

from core import logs
from core.metric_files import share_between_processes
from core.settings import Settings

SCHEMA_FILE = Path("schema.graphql")


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with observed(settings):
        import uvicorn

        from graphql_api.serving import uvicorn_config
        from roles.api import build_api_app

        config = uvicorn_config(
            build_api_app(settings),
            host=args.host or settings.host,
            port=args.port or settings.port,
            log_level=args.log_level,
            # Logging is configured already (core/logs.py): the access log
            # goes through it too.
            log_config=None,
        )
        uvicorn.Server(config).run()
    return 0


def _worker_cmd(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with observed(settings):
        from roles.worker import run_until_stopped

        asyncio.run(run_until_stopped(settings))
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


def _worker_health_cmd(args: argparse.Namespace) -> int:
    """Exit 0 when this machine's worker wrote a heartbeat recently (for health checks)."""
    from roles.worker import is_alive

    alive = asyncio.run(is_alive(Settings.from_env()))
    print("alive" if alive else "no recent heartbeat")
    return 0 if alive else 1


def _migrate_cmd(args: argparse.Namespace) -> int:
    from roles.admin import migrate

    applied = asyncio.run(migrate(Settings.from_env()))
    print("\n".join(f"applied {name}" for name in applied) or "database is up to date")
    return 0


def _create_user_cmd(args: argparse.Namespace) -> int:
    from core.errors import ClientError
    from roles.admin import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    try:
        user = asyncio.run(add_user(Settings.from_env(), args.username, password, args.admin))
    except ClientError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"created {'admin ' if user.is_admin else ''}user {user.username} ({user.id})")
    return 0


def _export_schema_cmd(args: argparse.Namespace) -> int:
    from roles.admin import schema_sdl

    sdl = schema_sdl()
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scriptbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the GraphQL service (uvicorn)")
    serve.add_argument("--host", help="default: SCRIPTBOX_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: SCRIPTBOX_PORT or 8000")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_serve)

    worker = commands.add_parser(
        "worker", help="run executions and schedules (no HTTP); see SCRIPTBOX_WORKER_*"
    )
    worker.set_defaults(func=_worker_cmd)

    health = commands.add_parser(
        "worker-health", help="exit 0 when this worker's heartbeat is fresh (health checks)"
    )
    health.set_defaults(func=_worker_health_cmd)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=_migrate_cmd)

    create_user = commands.add_parser("create-user", help="create a user account")
    create_user.add_argument("username")
    create_user.add_argument("--admin", action="store_true", help="give admin rights")
    create_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create_user.set_defaults(func=_create_user_cmd)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", "-o", default=str(SCHEMA_FILE), help="file, or - for stdout")
    export.set_defaults(func=_export_schema_cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        logs.configure(Settings.from_env().log_format)
        return int(args.func(args))
    except ValueError as exc:  # settings errors name the variable at fault
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
