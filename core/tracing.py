"""OpenTelemetry spans, only when SCRIPTBOX_OTEL_ENDPOINT is set.

Unset (the default), nothing of OpenTelemetry is imported: `span` is a
context manager that does nothing and `trace_environment` is empty, so the
`otel` extra is optional and costs nothing when off. Set, `configure`
exports spans over OTLP/HTTP to `<endpoint>/v1/traces` from a background
thread (the SDK's batch processor); OTEL_SERVICE_NAME and the SDK's OTEL_BSP_*
variables are honoured.

Spans: each HTTP request (joining a caller's W3C `traceparent`), each root
GraphQL field, each claim of an execution, each run and its sandbox part.
The sandbox part's context goes into the run's environment as TRACEPARENT,
so a user's script can make its own spans children of it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

TRACEPARENT_VARIABLE = "TRACEPARENT"

# The SDK's tracer while tracing is on; None when off (the default).
_tracer: Any = None
_provider: Any = None


def configure(endpoint: str | None, service_name: str = "scriptbox") -> None:
    """Start exporting spans to `endpoint`; with None, stay off."""
    global _tracer, _provider
    if not endpoint or _tracer is not None:
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ValueError(
            "SCRIPTBOX_OTEL_ENDPOINT is set but OpenTelemetry is not installed "
            "(pip install 'scriptbox[otel]')"
        ) from exc
    resource = Resource.create({SERVICE_NAME: service_name})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _provider, _tracer = provider, provider.get_tracer("scriptbox")


def enabled() -> bool:
    return _tracer is not None


def shutdown() -> None:
    """Send what is left (called when the process stops)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


@contextlib.contextmanager
def span(
    name: str, attributes: Mapping[str, Any] | None = None, parent: Mapping[str, str] | None = None
) -> Iterator[None]:
    """A span around the block, a child of the current one (or of the W3C
    `traceparent` in the `parent` headers); nothing when tracing is off."""
    if _tracer is None:
        yield
        return
    context = None
    if parent is not None and "traceparent" in parent:
        from opentelemetry.propagate import extract

        context = extract(dict(parent))
    clean = {k: v for k, v in (attributes or {}).items() if v is not None}
    with _tracer.start_as_current_span(name, context=context, attributes=clean):
        yield


def trace_environment() -> dict[str, str]:
    """{"TRACEPARENT": ...} for the current span; empty when tracing is off."""
    if _tracer is None:
        return {}
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    value = carrier.get("traceparent")
    return {TRACEPARENT_VARIABLE: value} if value else {}
