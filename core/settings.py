"""Every setting of the service, read from the environment in one place.

Each field documents its variable and default; `Settings.from_env()` is the
only reader of `os.environ` for service configuration.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.limits import MAX_MEMORY_BYTES, MiB, SandboxLimits
from core.worker_tags import parse_worker_tags


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default).strip() or default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _sandbox_memory_bytes(default: int) -> int:
    value = _env_int("SCRIPTBOX_SANDBOX_MEMORY_BYTES", default)
    if value > MAX_MEMORY_BYTES:
        limit = f"at most {MAX_MEMORY_BYTES} (2 GiB)"
        raise ValueError(f"SCRIPTBOX_SANDBOX_MEMORY_BYTES must be {limit}, got {value}")
    return value


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _pip_default_index() -> str:
    """The index pip uses when none is configured, taken from pip itself."""
    from pip._internal.models.index import PyPI

    return str(PyPI.simple_url)


def _default_pip_command() -> tuple[str, ...]:
    """pip beside the service (a declared dependency); else the system's."""
    if importlib.util.find_spec("pip") is not None:
        return (sys.executable, "-m", "pip")
    return (shutil.which("python3") or sys.executable, "-m", "pip")


@dataclass(frozen=True)
class Settings:
    # SCRIPTBOX_DATA_DIR: where the embedded defaults live (SQLite file, local
    # storage folder, generated keys). Default: ./data
    data_dir: Path = Path("data")
    # SCRIPTBOX_DATABASE_URL: a Tortoise URL, sqlite://... or postgres://...
    # Default: sqlite://<data_dir>/scriptbox.sqlite3
    database_url: str = ""
    # SCRIPTBOX_AUTO_MIGRATE: apply pending migrations on start-up. Default: true
    auto_migrate: bool = True

    # SCRIPTBOX_STORAGE: "local" (default) or "s3".
    storage_backend: Literal["local", "s3"] = "local"
    # SCRIPTBOX_STORAGE_DIR: root of the local store. Default: <data_dir>/objects
    storage_dir: Path = Path("data/objects")
    # SCRIPTBOX_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY / _BUCKET / _SECURE / _REGION
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "scriptbox"
    s3_secure: bool = False
    s3_region: str | None = None

    # SCRIPTBOX_JWT_SECRET: signing key for tokens. When unset, one is
    # generated once into <data_dir>/jwt-secret (mode 0600) and reused.
    jwt_secret: str | None = None
    # SCRIPTBOX_ACCESS_TOKEN_TTL_SECONDS (default 900) and
    # SCRIPTBOX_REFRESH_TOKEN_TTL_SECONDS (default 30 days).
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # Failed logins are counted per (username, client address), in the database.
    # SCRIPTBOX_LOGIN_MAX_FAILURES failures are free (default 5); each one after
    # that locks the pair (RATE_LIMITED with retryAfterSeconds) for
    # SCRIPTBOX_LOGIN_FIRST_DELAY_SECONDS (default 2), doubling per further
    # failure up to SCRIPTBOX_LOGIN_WINDOW_SECONDS (default 300). A pair's count
    # is forgotten a window after its last failure or lock.
    login_max_failures: int = 5
    login_window_seconds: int = 300
    login_first_delay_seconds: float = 2.0
    # SCRIPTBOX_LOGIN_MAX_USERNAMES_PER_ADDRESS: usernames counted apart for one
    # address (default 50); failures for more share one row, which bounds the
    # table under a username spray and throttles the spray itself.
    login_max_usernames_per_address: int = 50
    # SCRIPTBOX_REGISTRATION: "open" (anyone registers; the default) or
    # "invite" (admins create users, or hand out single-use invite codes).
    registration: Literal["open", "invite"] = "open"
    # SCRIPTBOX_INVITE_TTL_HOURS: how long an invite code works (default 7 days).
    invite_ttl_hours: int = 7 * 24
    # SCRIPTBOX_ACCESS_CHECK_SECONDS: how often each API process looks whether
    # access was taken away, so open sockets re-check their caller (default 0.5).
    access_check_seconds: float = 0.5
    # SCRIPTBOX_AUDIT_RETENTION_DAYS: audit entries older than this are deleted
    # (default 365; 0 keeps them for ever).
    audit_retention_days: int = 365
    # Execution history (services/retention.py). SCRIPTBOX_RETENTION_DAYS:
    # ended executions queued longer ago than this are deleted, with their
    # output and artifacts; SCRIPTBOX_RETENTION_PER_SCRIPT: only the newest
    # this many executions of each script are kept. 0 (the default) turns a
    # rule off: history is the users' record, so deleting it is the admin's
    # choice, never a surprise of an upgrade.
    retention_days: int = 0
    retention_per_script: int = 0
    # SCRIPTBOX_RETENTION_INTERVAL_SECONDS: how often the scheduler applies
    # them (default 60); SCRIPTBOX_RETENTION_BATCH: executions deleted per
    # statement (default 100), so no transaction is ever long.
    retention_interval_seconds: float = 60.0
    retention_batch: int = 100
    # SCRIPTBOX_RETENTION_PAUSE_SECONDS: the pause between two batches, so a
    # large backlog is deleted gently, leaving the database to users in
    # between (default 0.1).
    retention_pause_seconds: float = 0.1
    # SCRIPTBOX_OUTPUT_INLINE_BYTES: a run's output (stdout and stderr, in
    # UTF-8) larger than this is kept in object storage, not in its row
    # (default 64 KiB), so the executions table stays small.
    output_inline_bytes: int = MiB // 16
    # SCRIPTBOX_ORPHAN_SWEEP_SECONDS: how often the scheduler looks for stored
    # objects no row names any more (services/orphan_sweep.py; default hourly,
    # 0 off); SCRIPTBOX_ORPHAN_GRACE_SECONDS: how old such an object must be to
    # go (default 1 hour: every writer stores an object just before its row).
    orphan_sweep_seconds: float = 3600.0
    orphan_grace_seconds: float = 3600.0

    # SCRIPTBOX_HOST / SCRIPTBOX_PORT: where `scriptbox serve` listens.
    host: str = "127.0.0.1"
    port: int = 8000

    # SCRIPTBOX_MAX_SCRIPT_BYTES: largest script content. Default 1 MiB.
    max_script_bytes: int = 1 * MiB
    # SCRIPTBOX_MAX_UPLOAD_BYTES: largest multipart request body. Default 64 MiB.
    max_upload_bytes: int = 64 * MiB
    # SCRIPTBOX_MAX_JSON_BODY_BYTES: largest non-multipart request body. Default 4 MiB.
    max_json_body_bytes: int = 4 * MiB
    # Limits of one GraphQL document, checked before anything runs (see
    # graphql_api/query_cost.py); fragments count each time they are spread.
    # SCRIPTBOX_MAX_QUERY_TOKENS: lexical tokens (comments included) the parser reads.
    max_query_tokens: int = 5000
    # SCRIPTBOX_MAX_QUERY_LENGTH: characters of the document; large values
    # (script content) belong in variables, which JSON decodes far faster.
    max_query_length: int = 100_000
    # SCRIPTBOX_MAX_QUERY_DEPTH: nested field levels (`{ a { b } }` is 2).
    max_query_depth: int = 40
    # SCRIPTBOX_MAX_QUERY_COST: fields, arguments, literal values, directives
    # and fragments, once fragments are expanded.
    max_query_cost: int = 1000
    # SCRIPTBOX_MAX_QUERY_ALIASES: aliased fields, once fragments are expanded.
    max_query_aliases: int = 100
    # SCRIPTBOX_MAX_QUERY_BREADTH: fields and fragment spreads one selection set
    # holds with its fragments merged in (field merging compares them in pairs).
    max_query_breadth: int = 64
    # SCRIPTBOX_MAX_FOLDER_DEPTH: how deep folders may nest.
    max_folder_depth: int = 32

    # Sandbox and engine (used from the execution issue on).
    # SCRIPTBOX_SANDBOX_IMAGE, SCRIPTBOX_DOCKER_HOST (default: DOCKER_HOST / local socket)
    sandbox_image: str = "scriptbox-sandbox:latest"
    docker_host: str | None = None
    # SCRIPTBOX_WORKER_CONCURRENCY: executions running at once. Default: CPU count.
    worker_concurrency: int = field(default_factory=lambda: os.cpu_count() or 1)
    # SCRIPTBOX_WARM_POOL_SIZE: started containers kept ready. Default 2.
    warm_pool_size: int = 2
    # SCRIPTBOX_EMBEDDED_WORKER: run executions inside the API process. Default true.
    embedded_worker: bool = True
    # SCRIPTBOX_WORKER_NAME: this process's name in execution rows and container labels.
    worker_name: str = ""
    # SCRIPTBOX_WORKER_TAGS: comma-separated tags of this worker ("eu,gpu");
    # runs that require one of them (`target`) go only to workers that carry
    # it. A worker's name is always one of its tags. Default: none.
    worker_tags: tuple[str, ...] = ()
    # SCRIPTBOX_MAX_QUEUED_PER_USER: executions a user may have queued or running at once.
    max_queued_per_user: int = 100
    # Default limits of one run, and the ceilings a caller may ask for.
    # The defaults are those of SandboxLimits (core/limits.py).
    default_timeout_seconds: float = SandboxLimits.timeout_seconds
    max_timeout_seconds: float = 600.0
    sandbox_memory_bytes: int = SandboxLimits.memory_bytes
    sandbox_nano_cpus: int = SandboxLimits.nano_cpus
    sandbox_pids: int = SandboxLimits.pids
    sandbox_output_bytes: int = SandboxLimits.output_bytes_per_stream
    sandbox_result_bytes: int = SandboxLimits.result_bytes
    sandbox_workdir_bytes: int = SandboxLimits.workdir_bytes
    max_input_bytes: int = 1 * MiB

    # SCRIPTBOX_SECRETS_KEY: Fernet key that encrypts secrets at rest. When
    # unset, one is generated once into <data_dir>/secrets-key (mode 0600).
    # Losing it makes stored secrets unreadable: back it up with the database.
    secrets_key: str | None = None
    # SCRIPTBOX_MAX_FILE_BYTES: largest uploaded file. Default 50 MiB.
    max_file_bytes: int = 50 * MiB
    # SCRIPTBOX_MAX_BATCH_SIZE: inputs in one runBatch. Default 1000.
    max_batch_size: int = 1000
    # SCRIPTBOX_MAX_RUN_FILES / SCRIPTBOX_MAX_RUN_FILES_BYTES: files given to one run.
    max_run_files: int = 16
    max_run_files_bytes: int = 32 * MiB
    # SCRIPTBOX_MAX_BUNDLE_SCRIPTS / SCRIPTBOX_MAX_BUNDLE_BYTES: the scripts one
    # run imports (transitively), in number and in bytes.
    max_bundle_scripts: int = 64
    max_bundle_bytes: int = 4 * MiB
    # SCRIPTBOX_SCHEDULER: run the schedule ticker in this process. Default true.
    scheduler_enabled: bool = True
    # SCRIPTBOX_REDIS_URL: the event bus between processes (redis://host:6379/0).
    # Unset: an in-memory bus, for one process.
    redis_url: str | None = None
    # SCRIPTBOX_REDIS_PREFIX: key prefix, so several deployments can share a Redis.
    redis_prefix: str = "scriptbox:"
    # SCRIPTBOX_SUBSCRIBER_QUEUE_LIMIT: events the in-memory bus holds for one
    # subscriber that is not reading; one more ends its subscription with
    # SUBSCRIBER_TOO_SLOW (it may subscribe again and replay). Default 10000.
    subscriber_queue_limit: int = 10_000
    # SCRIPTBOX_WORKER_HEARTBEAT_SECONDS / SCRIPTBOX_WORKER_LOST_AFTER_SECONDS:
    # how often a worker says it is alive, and how long a silent worker has
    # before its RUNNING executions end WORKER_LOST.
    worker_heartbeat_seconds: float = 5.0
    worker_lost_after_seconds: float = 30.0

    # Python dependencies of scripts (services/dependencies/).
    # SCRIPTBOX_DEPS_INDEX_URL: the package index (PEP 503/691 simple API)
    # wheels come from. Default: pip's own default index.
    deps_index_url: str = field(default_factory=_pip_default_index)
    # SCRIPTBOX_DEPS_PIP: the command that runs pip on the host, split like a
    # shell would. Default: pip beside the service, else the system's python3's.
    deps_pip_command: tuple[str, ...] = field(default_factory=_default_pip_command)
    # SCRIPTBOX_DEPS_CACHE_BYTES: installed environments kept per Docker
    # engine; past it the least recently used ones are removed. Default 2 GiB.
    deps_cache_bytes: int = 2048 * MiB
    # SCRIPTBOX_DEPS_MAX_DOWNLOAD_BYTES: the wheels of one environment.
    # Default 256 MiB.
    deps_max_download_bytes: int = 256 * MiB
    # SCRIPTBOX_DEPS_MAX_ENV_BYTES: one environment, installed. Default 1 GiB.
    deps_max_env_bytes: int = 1024 * MiB
    # SCRIPTBOX_DEPS_RESOLVE_TIMEOUT_SECONDS: pip's resolution and download of
    # one set. Default 300.
    deps_resolve_timeout_seconds: float = 300.0
    # SCRIPTBOX_DEPS_INSTALL_TIMEOUT_SECONDS: the sandbox job that installs
    # one environment. Default 300.
    deps_install_timeout_seconds: float = 300.0
    # SCRIPTBOX_DEPS_RETRY_FAILED_SECONDS: a failed resolution is answered
    # from the database this long before it is tried again (saving the
    # script retries at once). Default 300.
    deps_retry_failed_seconds: float = 300.0
    # SCRIPTBOX_DEPS_NAMESPACE: label of this deployment's environment volumes
    # on the engine; the clean-up touches no other. Default: scriptbox
    deps_namespace: str = "scriptbox"
    # Services (scripts that stay up: services/service_ops.py, worker/supervisor.py).
    # SCRIPTBOX_MAX_SERVICES_PER_USER: services one person may have up
    # (starting, running or waiting to restart) at once. Default 5.
    max_services_per_user: int = 5
    # SCRIPTBOX_SERVICE_STOP_GRACE_SECONDS: after SIGTERM, how long a stopping
    # service may take to exit before it is killed. Default 10.
    service_stop_grace_seconds: float = 10.0
    # SCRIPTBOX_SERVICE_MAX_RESTARTS: restarts after failures before a
    # service with no maximum of its own ends FAILED. Default 5.
    service_max_restarts: int = 5
    # SCRIPTBOX_SERVICE_BACKOFF_SECONDS / _MAX_SECONDS: the wait before the
    # first restart, doubling with each one up to the maximum. Default 1, 60.
    service_backoff_seconds: float = 1.0
    service_backoff_max_seconds: float = 60.0
    # SCRIPTBOX_SERVICE_MAX_LIFETIME_SECONDS: a service is stopped after this
    # long (0: never). Default 0.
    service_max_lifetime_seconds: float = 0.0
    # SCRIPTBOX_SERVICE_LOG_LINES: the recent lines kept per service for
    # `Service.logs` and the replay of `serviceLogs`. Default 1000.
    service_log_lines: int = 1000
    # SCRIPTBOX_SERVICE_LOG_BYTES_PER_SECOND: a service's output beyond this
    # in one second is dropped (and says so), never blocking it. Default 64 KiB.
    service_log_bytes_per_second: int = 64 * 1024

    # The proxy to users' HTTP services, /services/{id}/... (graphql_api/service_proxy/).
    # SCRIPTBOX_SERVICE_PROXY_MAX_REQUEST_BYTES / _MAX_RESPONSE_BYTES: bodies
    # passed on, each way (defaults 10 MiB and 50 MiB).
    service_proxy_max_request_bytes: int = 10 * MiB
    service_proxy_max_response_bytes: int = 50 * MiB
    # SCRIPTBOX_SERVICE_PROXY_CONNECT_SECONDS (default 5), _FIRST_BYTE_SECONDS
    # (until the response's head, default 30), _TOTAL_SECONDS (the whole
    # exchange, default 300).
    service_proxy_connect_seconds: float = 5.0
    service_proxy_first_byte_seconds: float = 30.0
    service_proxy_total_seconds: float = 300.0
    # SCRIPTBOX_SERVICE_PROXY_ANONYMOUS_PER_MINUTE: requests without a token
    # one client address may send (in bursts of as many), per API process.
    # Default 120.
    service_proxy_anonymous_per_minute: int = 120

    # Observability (core/metrics.py, core/logs.py, core/tracing.py).
    # SCRIPTBOX_METRICS_TOKEN: the bearer token GET /metrics asks for; unset,
    # /metrics answers 404 (off). Default: unset.
    metrics_token: str | None = None
    # SCRIPTBOX_METRICS_DIR: a folder the processes of one machine share
    # (API processes, `scriptbox worker`s); each writes its metrics there and
    # /metrics sums them all. Empty it when the deployment starts. Unset: each
    # process counts for itself (its embedded worker included).
    metrics_dir: Path | None = None
    # SCRIPTBOX_LOG_FORMAT: "text" (readable lines; the default) or "json"
    # (one JSON object a line).
    log_format: Literal["text", "json"] = "text"
    # SCRIPTBOX_OTEL_ENDPOINT: an OTLP/HTTP collector (http://host:4318);
    # set, spans are exported there (needs the `otel` extra). Default: unset.
    otel_endpoint: str | None = None

    @property
    def jwt_secret_file(self) -> Path:
        return self.data_dir / "jwt-secret"

    @property
    def secrets_key_file(self) -> Path:
        return self.data_dir / "secrets-key"

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("SCRIPTBOX_DATA_DIR", "data"))
        backend = _env("SCRIPTBOX_STORAGE", "local").lower()
        if backend not in ("local", "s3"):
            raise ValueError(f"SCRIPTBOX_STORAGE must be 'local' or 's3', got {backend!r}")
        return cls(
            data_dir=data_dir,
            database_url=_env(
                "SCRIPTBOX_DATABASE_URL", f"sqlite://{data_dir / 'scriptbox.sqlite3'}"
            ),
            auto_migrate=_env_bool("SCRIPTBOX_AUTO_MIGRATE", cls.auto_migrate),
            storage_backend="s3" if backend == "s3" else "local",
            storage_dir=Path(_env("SCRIPTBOX_STORAGE_DIR", str(data_dir / "objects"))),
            s3_endpoint=_env("SCRIPTBOX_S3_ENDPOINT", cls.s3_endpoint),
            s3_access_key=_env("SCRIPTBOX_S3_ACCESS_KEY", cls.s3_access_key),
            s3_secret_key=_env("SCRIPTBOX_S3_SECRET_KEY", cls.s3_secret_key),
            s3_bucket=_env("SCRIPTBOX_S3_BUCKET", cls.s3_bucket),
            s3_secure=_env_bool("SCRIPTBOX_S3_SECURE", cls.s3_secure),
            s3_region=os.environ.get("SCRIPTBOX_S3_REGION") or None,
            jwt_secret=os.environ.get("SCRIPTBOX_JWT_SECRET") or None,
            access_token_ttl_seconds=_env_int(
                "SCRIPTBOX_ACCESS_TOKEN_TTL_SECONDS", cls.access_token_ttl_seconds
            ),
            refresh_token_ttl_seconds=_env_int(
                "SCRIPTBOX_REFRESH_TOKEN_TTL_SECONDS", cls.refresh_token_ttl_seconds
            ),
            login_max_failures=_env_int("SCRIPTBOX_LOGIN_MAX_FAILURES", cls.login_max_failures),
            login_window_seconds=_env_int(
                "SCRIPTBOX_LOGIN_WINDOW_SECONDS", cls.login_window_seconds
            ),
            login_first_delay_seconds=_env_float(
                "SCRIPTBOX_LOGIN_FIRST_DELAY_SECONDS", cls.login_first_delay_seconds
            ),
            login_max_usernames_per_address=_env_int(
                "SCRIPTBOX_LOGIN_MAX_USERNAMES_PER_ADDRESS", cls.login_max_usernames_per_address
            ),
            registration=_registration(_env("SCRIPTBOX_REGISTRATION", cls.registration)),
            invite_ttl_hours=_env_int("SCRIPTBOX_INVITE_TTL_HOURS", cls.invite_ttl_hours),
            access_check_seconds=_env_float(
                "SCRIPTBOX_ACCESS_CHECK_SECONDS", cls.access_check_seconds
            ),
            audit_retention_days=_env_int(
                "SCRIPTBOX_AUDIT_RETENTION_DAYS", cls.audit_retention_days
            ),
            retention_days=_env_int("SCRIPTBOX_RETENTION_DAYS", cls.retention_days),
            retention_per_script=_env_int(
                "SCRIPTBOX_RETENTION_PER_SCRIPT", cls.retention_per_script
            ),
            retention_interval_seconds=_env_float(
                "SCRIPTBOX_RETENTION_INTERVAL_SECONDS", cls.retention_interval_seconds
            ),
            retention_batch=_env_int("SCRIPTBOX_RETENTION_BATCH", cls.retention_batch),
            retention_pause_seconds=_env_float(
                "SCRIPTBOX_RETENTION_PAUSE_SECONDS", cls.retention_pause_seconds
            ),
            output_inline_bytes=_env_int("SCRIPTBOX_OUTPUT_INLINE_BYTES", cls.output_inline_bytes),
            orphan_sweep_seconds=_env_float(
                "SCRIPTBOX_ORPHAN_SWEEP_SECONDS", cls.orphan_sweep_seconds
            ),
            orphan_grace_seconds=_env_float(
                "SCRIPTBOX_ORPHAN_GRACE_SECONDS", cls.orphan_grace_seconds
            ),
            host=_env("SCRIPTBOX_HOST", cls.host),
            port=_env_int("SCRIPTBOX_PORT", cls.port),
            max_script_bytes=_env_int("SCRIPTBOX_MAX_SCRIPT_BYTES", cls.max_script_bytes),
            max_upload_bytes=_env_int("SCRIPTBOX_MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            max_json_body_bytes=_env_int("SCRIPTBOX_MAX_JSON_BODY_BYTES", cls.max_json_body_bytes),
            max_query_tokens=_env_int("SCRIPTBOX_MAX_QUERY_TOKENS", cls.max_query_tokens),
            max_query_length=_env_int("SCRIPTBOX_MAX_QUERY_LENGTH", cls.max_query_length),
            max_query_depth=_env_int("SCRIPTBOX_MAX_QUERY_DEPTH", cls.max_query_depth),
            max_query_cost=_env_int("SCRIPTBOX_MAX_QUERY_COST", cls.max_query_cost),
            max_query_aliases=_env_int("SCRIPTBOX_MAX_QUERY_ALIASES", cls.max_query_aliases),
            max_query_breadth=_env_int("SCRIPTBOX_MAX_QUERY_BREADTH", cls.max_query_breadth),
            max_folder_depth=_env_int("SCRIPTBOX_MAX_FOLDER_DEPTH", cls.max_folder_depth),
            sandbox_image=_env("SCRIPTBOX_SANDBOX_IMAGE", cls.sandbox_image),
            docker_host=os.environ.get("SCRIPTBOX_DOCKER_HOST") or None,
            worker_concurrency=_env_int("SCRIPTBOX_WORKER_CONCURRENCY", os.cpu_count() or 1),
            warm_pool_size=_env_int("SCRIPTBOX_WARM_POOL_SIZE", cls.warm_pool_size),
            embedded_worker=_env_bool("SCRIPTBOX_EMBEDDED_WORKER", cls.embedded_worker),
            worker_name=_env("SCRIPTBOX_WORKER_NAME", cls.worker_name),
            worker_tags=parse_worker_tags(os.environ.get("SCRIPTBOX_WORKER_TAGS", "")),
            max_queued_per_user=_env_int("SCRIPTBOX_MAX_QUEUED_PER_USER", cls.max_queued_per_user),
            default_timeout_seconds=_env_float(
                "SCRIPTBOX_DEFAULT_TIMEOUT_SECONDS", cls.default_timeout_seconds
            ),
            max_timeout_seconds=_env_float(
                "SCRIPTBOX_MAX_TIMEOUT_SECONDS", cls.max_timeout_seconds
            ),
            sandbox_memory_bytes=_sandbox_memory_bytes(cls.sandbox_memory_bytes),
            sandbox_nano_cpus=_env_int("SCRIPTBOX_SANDBOX_NANO_CPUS", cls.sandbox_nano_cpus),
            sandbox_pids=_env_int("SCRIPTBOX_SANDBOX_PIDS", cls.sandbox_pids),
            sandbox_output_bytes=_env_int(
                "SCRIPTBOX_SANDBOX_OUTPUT_BYTES", cls.sandbox_output_bytes
            ),
            sandbox_result_bytes=_env_int(
                "SCRIPTBOX_SANDBOX_RESULT_BYTES", cls.sandbox_result_bytes
            ),
            sandbox_workdir_bytes=_env_int(
                "SCRIPTBOX_SANDBOX_WORKDIR_BYTES", cls.sandbox_workdir_bytes
            ),
            max_input_bytes=_env_int("SCRIPTBOX_MAX_INPUT_BYTES", cls.max_input_bytes),
            secrets_key=os.environ.get("SCRIPTBOX_SECRETS_KEY") or None,
            max_file_bytes=_env_int("SCRIPTBOX_MAX_FILE_BYTES", cls.max_file_bytes),
            max_batch_size=_env_int("SCRIPTBOX_MAX_BATCH_SIZE", cls.max_batch_size),
            max_run_files=_env_int("SCRIPTBOX_MAX_RUN_FILES", cls.max_run_files),
            max_run_files_bytes=_env_int("SCRIPTBOX_MAX_RUN_FILES_BYTES", cls.max_run_files_bytes),
            max_bundle_scripts=_env_int("SCRIPTBOX_MAX_BUNDLE_SCRIPTS", cls.max_bundle_scripts),
            max_bundle_bytes=_env_int("SCRIPTBOX_MAX_BUNDLE_BYTES", cls.max_bundle_bytes),
            scheduler_enabled=_env_bool("SCRIPTBOX_SCHEDULER", cls.scheduler_enabled),
            redis_url=os.environ.get("SCRIPTBOX_REDIS_URL") or None,
            redis_prefix=_env("SCRIPTBOX_REDIS_PREFIX", cls.redis_prefix),
            subscriber_queue_limit=_env_int(
                "SCRIPTBOX_SUBSCRIBER_QUEUE_LIMIT", cls.subscriber_queue_limit
            ),
            worker_heartbeat_seconds=_env_float(
                "SCRIPTBOX_WORKER_HEARTBEAT_SECONDS", cls.worker_heartbeat_seconds
            ),
            worker_lost_after_seconds=_env_float(
                "SCRIPTBOX_WORKER_LOST_AFTER_SECONDS", cls.worker_lost_after_seconds
            ),
            deps_index_url=_env("SCRIPTBOX_DEPS_INDEX_URL", "") or _pip_default_index(),
            deps_pip_command=tuple(shlex.split(_env("SCRIPTBOX_DEPS_PIP", "")))
            or _default_pip_command(),
            deps_cache_bytes=_env_int("SCRIPTBOX_DEPS_CACHE_BYTES", cls.deps_cache_bytes),
            deps_max_download_bytes=_env_int(
                "SCRIPTBOX_DEPS_MAX_DOWNLOAD_BYTES", cls.deps_max_download_bytes
            ),
            deps_max_env_bytes=_env_int("SCRIPTBOX_DEPS_MAX_ENV_BYTES", cls.deps_max_env_bytes),
            deps_resolve_timeout_seconds=_env_float(
                "SCRIPTBOX_DEPS_RESOLVE_TIMEOUT_SECONDS", cls.deps_resolve_timeout_seconds
            ),
            deps_install_timeout_seconds=_env_float(
                "SCRIPTBOX_DEPS_INSTALL_TIMEOUT_SECONDS", cls.deps_install_timeout_seconds
            ),
            deps_retry_failed_seconds=_env_float(
                "SCRIPTBOX_DEPS_RETRY_FAILED_SECONDS", cls.deps_retry_failed_seconds
            ),
            deps_namespace=_env("SCRIPTBOX_DEPS_NAMESPACE", cls.deps_namespace),
            max_services_per_user=_env_int(
                "SCRIPTBOX_MAX_SERVICES_PER_USER", cls.max_services_per_user
            ),
            service_stop_grace_seconds=_env_float(
                "SCRIPTBOX_SERVICE_STOP_GRACE_SECONDS", cls.service_stop_grace_seconds
            ),
            service_max_restarts=_env_int(
                "SCRIPTBOX_SERVICE_MAX_RESTARTS", cls.service_max_restarts
            ),
            service_backoff_seconds=_env_float(
                "SCRIPTBOX_SERVICE_BACKOFF_SECONDS", cls.service_backoff_seconds
            ),
            service_backoff_max_seconds=_env_float(
                "SCRIPTBOX_SERVICE_BACKOFF_MAX_SECONDS", cls.service_backoff_max_seconds
            ),
            service_max_lifetime_seconds=_env_float(
                "SCRIPTBOX_SERVICE_MAX_LIFETIME_SECONDS", cls.service_max_lifetime_seconds
            ),
            service_log_lines=_env_int("SCRIPTBOX_SERVICE_LOG_LINES", cls.service_log_lines),
            service_log_bytes_per_second=_env_int(
                "SCRIPTBOX_SERVICE_LOG_BYTES_PER_SECOND", cls.service_log_bytes_per_second
            ),
            service_proxy_max_request_bytes=_env_int(
                "SCRIPTBOX_SERVICE_PROXY_MAX_REQUEST_BYTES", cls.service_proxy_max_request_bytes
            ),
            service_proxy_max_response_bytes=_env_int(
                "SCRIPTBOX_SERVICE_PROXY_MAX_RESPONSE_BYTES", cls.service_proxy_max_response_bytes
            ),
            service_proxy_connect_seconds=_env_float(
                "SCRIPTBOX_SERVICE_PROXY_CONNECT_SECONDS", cls.service_proxy_connect_seconds
            ),
            service_proxy_first_byte_seconds=_env_float(
                "SCRIPTBOX_SERVICE_PROXY_FIRST_BYTE_SECONDS", cls.service_proxy_first_byte_seconds
            ),
            service_proxy_total_seconds=_env_float(
                "SCRIPTBOX_SERVICE_PROXY_TOTAL_SECONDS", cls.service_proxy_total_seconds
            ),
            service_proxy_anonymous_per_minute=_env_int(
                "SCRIPTBOX_SERVICE_PROXY_ANONYMOUS_PER_MINUTE",
                cls.service_proxy_anonymous_per_minute,
            ),
            metrics_token=os.environ.get("SCRIPTBOX_METRICS_TOKEN", "").strip() or None,
            metrics_dir=Path(raw) if (raw := _env("SCRIPTBOX_METRICS_DIR", "")) else None,
            log_format=_log_format(_env("SCRIPTBOX_LOG_FORMAT", cls.log_format)),
            otel_endpoint=os.environ.get("SCRIPTBOX_OTEL_ENDPOINT", "").strip() or None,
        )


def _registration(value: str) -> Literal["open", "invite"]:
    value = value.strip().lower()
    if value == "open":
        return "open"
    if value == "invite":
        return "invite"
    raise ValueError(f"SCRIPTBOX_REGISTRATION must be 'open' or 'invite', got {value!r}")


def _log_format(value: str) -> Literal["text", "json"]:
    value = value.strip().lower()
    if value == "text":
        return "text"
    if value == "json":
        return "json"
    raise ValueError(f"SCRIPTBOX_LOG_FORMAT must be 'text' or 'json', got {value!r}")
