"""The sandbox job of one start of a service: the run path's priming (its
script version, the starter's secrets, the scripts it imports, its Python
dependencies) with a service's limits: no wall-clock timeout, no total
output cap (worker/service_output.py caps its rate instead)."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from core.settings import Settings
from models.services import Service
from models.tree import ScriptVersion
from sandbox import SandboxJob
from services.bundles import BundleCaps, BundleRefused, reader_of, resolve_bundle
from services.secrets import MissingSecrets
from services.service_sockets import socket_dir
from worker.limits import default_limits
from worker.run import RunParts

# The runner waits in select() for the script's end with its timeout, which
# the kernel takes in milliseconds as a C int (at most ~24.8 days). A
# service with no maximum lifetime runs in containers of this lifetime,
# each replaced by the next when it ends (services/ keep no wall clock).
CONTAINER_LIFETIME_SECONDS = 20 * 24 * 3600.0
# Far above anything a service prints between two renewals: the rate cap
# bounds its output, not this.
UNCAPPED_OUTPUT_BYTES = 2**50


@dataclass(frozen=True)
class ServiceJob:
    job: SandboxJob
    secrets: list[str]  # values to mask in its output
    # True: the container ends at the service's maximum lifetime (a stop),
    # not at a renewal.
    lifetime_is_the_limit: bool


class CannotStart(Exception):
    """What keeps a service from starting at all (its script is gone, a
    secret is missing, its dependencies cannot be installed)."""


async def service_job(parts: RunParts, row: Service, cancel: asyncio.Event) -> ServiceJob:
    version = (
        await ScriptVersion.filter(script_id=row.script_id, version=row.version)
        .select_related("script")
        .first()
    )
    if version is None:
        raise CannotStart(f"Version {row.version} of the script no longer exists.")
    script = version.script
    try:
        secrets = await parts.secrets.values_for(str(row.owner_id), list(script.secret_names))
    except MissingSecrets as exc:
        raise CannotStart(
            f"The script needs secrets that do not exist: {', '.join(exc.names)}."
        ) from None
    content = await parts.contents.read(version.storage_key, version.sha256)
    caps = BundleCaps(parts.settings.max_bundle_scripts, parts.settings.max_bundle_bytes)
    try:
        reader = await reader_of(row.owner_id, script.owner_id)
        bundle = await resolve_bundle(script, version, content, reader, parts.contents.read, caps)
    except BundleRefused as exc:
        raise CannotStart(exc.message) from None
    deps = await parts.deps.prepare(script, content, cancel)
    if deps.error is not None:
        raise CannotStart(deps.error[1])
    lifetime, is_limit = _lifetime(parts.settings)
    limits = dataclasses.replace(
        default_limits(parts.settings, lifetime), output_bytes_per_stream=UNCAPPED_OUTPUT_BYTES
    )
    http_dir = None
    if row.http:
        directory = socket_dir(parts.settings, row.id)
        directory.mkdir(parents=True, exist_ok=True)
        http_dir = str(directory)
    env = {**secrets, **deps.env, "SCRIPTBOX_SERVICE_ID": str(row.id)}
    job = SandboxJob(
        execution_id=str(row.id),
        language=script.language.value,
        script=content,
        input_json=row.input_json.encode(),
        env=env,
        limits=limits,
        volumes=deps.volumes,
        library=bundle.library(),
        import_path=bundle.import_path,
        main_path=bundle.main_path,
        http_socket_dir=http_dir,
    )
    return ServiceJob(job, list(secrets.values()), is_limit)


def _lifetime(settings: Settings) -> tuple[float, bool]:
    limit = settings.service_max_lifetime_seconds
    if 0 < limit <= CONTAINER_LIFETIME_SECONDS:
        return limit, True
    return CONTAINER_LIFETIME_SECONDS, False
