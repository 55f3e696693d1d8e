"""The `scriptbox` command: serve, migrate, create-user, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from pathlib import Path

from core.settings import Settings

SCHEMA_FILE = Path("schema.graphql")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from graphql_api.app import create_app
    from graphql_api.serving import uvicorn_config

    settings = Settings.from_env()
    config = uvicorn_config(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=args.log_level,
    )
    uvicorn.Server(config).run()
    return 0


async def _run_worker() -> None:
    """A worker process: runs executions (and schedules), serves no HTTP."""
    import signal
    from dataclasses import replace

    from graphql_api.services import build_services
    from models import db

    # First of all: a SIGTERM during start-up then stops the worker once it
    # has started (and reaped what an earlier run left), instead of killing it.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    settings = replace(Settings.from_env(), embedded_worker=True)
    services = build_services(settings)
    await db.connect(settings.database_url)
    if settings.auto_migrate:
        await db.migrate(settings.database_url)
    await services.start()
    logging.getLogger("scriptbox").info(
        "worker %s running (concurrency %d)",
        services.worker.name if services.worker else "-",
        settings.worker_concurrency,
    )
    try:
        await stop.wait()
    finally:
        await services.close()
        await db.disconnect()


def _worker_cmd(args: argparse.Namespace) -> int:
    asyncio.run(_run_worker())
    return 0


async def _worker_alive() -> bool:
    from datetime import UTC, datetime, timedelta

    from graphql_api.services import worker_name
    from models import db
    from models.executions import WorkerHeartbeat

    settings = Settings.from_env()
    await db.connect(settings.database_url)
    try:
        cutoff = datetime.now(UTC) - timedelta(seconds=settings.worker_lost_after_seconds)
        return await WorkerHeartbeat.exists(name=worker_name(settings), last_seen__gte=cutoff)
    finally:
        await db.disconnect()


def _worker_health_cmd(args: argparse.Namespace) -> int:
    """Exit 0 when this machine's worker wrote a heartbeat recently (for health checks)."""
    alive = asyncio.run(_worker_alive())
    print("alive" if alive else "no recent heartbeat")
    return 0 if alive else 1


async def _migrate() -> list[str]:
    from models import db

    settings = Settings.from_env()
    await db.connect(settings.database_url)
    try:
        return await db.migrate(settings.database_url)
    finally:
        await db.disconnect()


def _migrate_cmd(args: argparse.Namespace) -> int:
    applied = asyncio.run(_migrate())
    print("\n".join(f"applied {name}" for name in applied) or "database is up to date")
    return 0


async def _create_user(username: str, password: str, is_admin: bool) -> str:
    from graphql_api.services import build_services
    from models import db

    settings = Settings.from_env()
    services = build_services(settings)
    await db.connect(settings.database_url)
    try:
        await db.migrate(settings.database_url)
        user = await services.accounts.create_user(username, password, is_admin=is_admin)
        return f"created {'admin ' if user.is_admin else ''}user {user.username} ({user.id})"
    finally:
        await services.close()
        await db.disconnect()


def _create_user_cmd(args: argparse.Namespace) -> int:
    from core.errors import ClientError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    try:
        print(asyncio.run(_create_user(args.username, password, args.admin)))
    except ClientError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


def export_schema_sdl() -> str:
    from graphql_api.schema import build_schema

    return build_schema().as_str() + "\n"


def _export_schema_cmd(args: argparse.Namespace) -> int:
    sdl = export_schema_sdl()
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # settings errors name the variable at fault
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
