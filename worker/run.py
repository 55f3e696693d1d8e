"""One run of one claimed execution, top to bottom:

    prime    its script version, secrets, input files, the scripts it imports
             and Python dependencies (or, for a run of unsaved code, that code
             and its input files)
    execute  in the sandbox, its output streaming through worker/output.py
    record   its artifacts, then its end, through services/executions

Every way a run can end becomes one `Ending`, recorded once: what the script
did (the sandbox's outcome), what it lacked (a deleted script, a missing
secret or file, a dependency that cannot be installed), or a failure of the
sandbox or of the worker itself."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from core import logs, metrics, tracing
from core.codes import ExecutionErrorCode
from core.errors import ClientError
from core.settings import Settings
from models.executions import Execution, ExecutionCode
from models.tree import ScriptVersion
from sandbox import DockerSandbox, SandboxJob, SandboxOutcome, SandboxUnavailable
from services.bundles import BundleCaps, BundleRefused, pin, reader_of, resolve_bundle
from services.dependencies import DependencyManager
from services.events import ExecutionEventBus
from services.executions.lifecycle import Ending, ExecutionLifecycle
from services.files import FileStore
from services.secrets import MissingSecrets, SecretStore
from storage import ObjectStore
from worker.limits import default_limits
from worker.output import RunOutput
from worker.output_journal import OutputJournal
from worker.script_contents import ScriptContents

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunParts:
    """What every run of a worker uses."""

    settings: Settings
    sandbox: DockerSandbox
    store: ObjectStore
    bus: ExecutionEventBus
    secrets: SecretStore
    files: FileStore
    deps: DependencyManager
    lifecycle: ExecutionLifecycle
    journal: OutputJournal
    contents: ScriptContents


async def run_execution(parts: RunParts, row: Execution, cancel: asyncio.Event) -> None:
    """Run a claimed (RUNNING) row to its end; setting `cancel` stops it."""
    run = _Run(parts, row, cancel, RunOutput(row, parts.bus, parts.journal))
    job: SandboxJob | Ending | None = None
    try:
        job = await run.prime()
        outcome = job if isinstance(job, Ending) else await run.execute(job)
        ending = outcome if isinstance(outcome, Ending) else await run.record(outcome)
    except Exception:
        log.exception("execution %s failed inside the worker", row.id)
        ending = Ending.failed(ExecutionErrorCode.INTERNAL_ERROR, "The worker failed; see logs.")
    output = run.output
    await output.flush()
    ended = await parts.lifecycle.finish(
        row, ending, output.text("stdout"), output.text("stderr"), seq=output.next_seq
    )
    if ended:
        log.info("execution %s ended %s", row.id, ending.status.value.lower())
        language = job.language if isinstance(job, SandboxJob) else None
        ran = ending.duration_ms / 1000 if language and ending.duration_ms is not None else None
        metrics.execution_ended(ending.status.value, language, ran)


class _Run:
    def __init__(
        self, parts: RunParts, row: Execution, cancel: asyncio.Event, output: RunOutput
    ) -> None:
        self.parts = parts
        self.row = row
        self.cancel = cancel
        self.output = output

    async def prime(self) -> SandboxJob | Ending:
        """The sandbox job; or the ending, when the run cannot start."""
        parts, row = self.parts, self.row
        if row.script_id is None:
            return await self._prime_code()
        # The version and its script in one query: every round trip here
        # is on the path of every run.
        version = (
            await ScriptVersion.filter(script_id=row.script_id, version=row.script_version)
            .select_related("script")
            .first()
        )
        if version is None:
            return Ending.failed(ExecutionErrorCode.NOT_FOUND, "The script was deleted.")
        script = version.script
        try:
            secrets = await parts.secrets.values_for(str(row.owner_id), list(script.secret_names))
        except MissingSecrets as exc:
            return Ending.failed(
                ExecutionErrorCode.MISSING_SECRET,
                f"The script needs secrets that do not exist: {', '.join(exc.names)}.",
            )
        files = await self._input_files()
        if isinstance(files, Ending):
            return files
        self.output.hide(secrets.values())
        logs.hide(secrets.values())
        content = await parts.contents.read(version.storage_key, version.sha256)
        caps = BundleCaps(parts.settings.max_bundle_scripts, parts.settings.max_bundle_bytes)
        try:
            reader = await reader_of(row.owner_id, script.owner_id)
            bundle = await resolve_bundle(
                script, version, content, reader, parts.contents.read, caps
            )
        except BundleRefused as exc:
            return Ending.failed(exc.code, exc.message)
        await pin(row, bundle)
        deps = await parts.deps.prepare(script, content, self.cancel)
        if deps.error is not None:
            code, message = deps.error
            return Ending.failed(ExecutionErrorCode(code), message)
        return SandboxJob(
            execution_id=str(row.id),
            language=script.language.value,
            script=content,
            input_json=row.input_json.encode(),
            files=files,
            env={**secrets, **deps.env, **_attempt_env(row)},
            limits=default_limits(parts.settings, row.timeout_seconds),
            volumes=deps.volumes,
            library=bundle.library(),
            import_path=bundle.import_path,
            main_path=bundle.main_path,
        )

    async def _prime_code(self) -> SandboxJob | Ending:
        """A run of unsaved code: the content kept with it, no secrets (it
        declares none) and no Python dependencies (they belong to a saved
        script's environment)."""
        code = await ExecutionCode.get_or_none(execution_id=self.row.id)
        if code is None:  # written with the row, in one transaction
            return Ending.failed(ExecutionErrorCode.NOT_FOUND, "The code to run is missing.")
        files = await self._input_files()
        if isinstance(files, Ending):
            return files
        return SandboxJob(
            execution_id=str(self.row.id),
            language=code.language.value,
            script=code.content.encode(),
            input_json=self.row.input_json.encode(),
            files=files,
            env=_attempt_env(self.row),
            limits=default_limits(self.parts.settings, self.row.timeout_seconds),
        )

    async def _input_files(self) -> list[tuple[str, bytes]] | Ending:
        row, settings = self.row, self.parts.settings
        if not row.input_files:
            return []
        try:
            return await self.parts.files.read_for_run(
                str(row.owner_id), list(row.input_files), settings.max_run_files_bytes
            )
        except ClientError as exc:
            return Ending.failed(ExecutionErrorCode.INPUT_FILE_ERROR, exc.message)

    async def execute(self, job: SandboxJob) -> SandboxOutcome | Ending:
        """The sandbox's outcome; or the ending, when there is no sandbox."""
        with tracing.span("sandbox.run", {"execution_id": job.execution_id}):
            # A script that reads TRACEPARENT makes its spans children of this one.
            if trace := tracing.trace_environment():
                job = replace(job, env={**job.env, **trace})
            try:
                return await self.parts.sandbox.run(job, self.output.feed, self.cancel)
            except SandboxUnavailable as exc:
                log.error("sandbox unavailable for execution %s: %s", self.row.id, exc)
                return Ending.failed(
                    ExecutionErrorCode.SANDBOX_UNAVAILABLE,
                    "The sandbox is unavailable; try again later.",
                )

    async def record(self, outcome: SandboxOutcome) -> Ending:
        """Keep what the script made, and say how it ended."""
        await self.output.finish()
        saved = await self.parts.files.save_artifacts(str(self.row.id), outcome.artifacts)
        message = outcome.error_message
        return Ending(
            status=outcome.status,
            error_code=outcome.error_code,
            error_message=self.output.mask(message) if message else message,
            result_json=outcome.result_json,
            exit_code=outcome.exit_code,
            output_truncated=outcome.stdout_truncated or outcome.stderr_truncated,
            rejected_artifacts=(*outcome.rejected_artifacts, *saved.rejected),
            duration_ms=outcome.duration_ms,
            usage=outcome.usage,
            image=outcome.image.reference if outcome.image else None,
            image_id=outcome.image.id if outcome.image else None,
        )


def _attempt_env(row: Execution) -> dict[str, str]:
    """Which attempt this is (1 unless retried): a script may act on it."""
    return {"SCRIPTBOX_ATTEMPT": str(row.attempt)}
