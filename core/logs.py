"""Log lines that say which request or execution they belong to, and never
a secret.

Every module logs through the standard library (`logging.getLogger`), as do
uvicorn (its access log included) and the ORM; `configure` puts structlog's
`ProcessorFormatter` on the root handler, so all of them come out in one
format: readable lines by default, one JSON object a line with
SCRIPTBOX_LOG_FORMAT=json. structlog rather than a JSON formatter of our own:
it is well kept, and its processors (context, timestamps, exceptions,
renderers) are the parts such a formatter would rewrite.

The ids come from a context variable that holds one mutable `LogContext`:
the HTTP middleware sets it once per request and the worker once per run;
child tasks (resolvers running concurrently) share that same object, so a
user id learnt in one resolver is on every later line of the request.

Redaction is the last step before rendering: known secret field names are
masked, and so are bearer tokens, JWTs, API tokens, passwords in URLs and
query strings, and every secret value a run was given (`hide`)."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

MASK = "***"
ID_FIELDS = ("request_id", "user_id", "execution_id")
# Field names whose value is never written, whatever it is.
SECRET_FIELD = re.compile(r"pass(word)?|secret|token|authorization|cookie|api_?key", re.I)
# Secret-looking text inside any value: the credential itself is masked, its
# label kept, so a line still says what was there.
SECRET_TEXT = (
    (re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+"), r"\1 " + MASK),
    # JWTs (access and refresh tokens): three base64url parts, the first a JSON header.
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"), MASK),
    # API tokens: sbx_<id>_<secret>; the prefix names the token and is kept.
    (re.compile(r"\b(sbx_[A-Za-z0-9]+)_[\w-]+"), r"\1_" + MASK),
    # user:password@ in URLs (database, Redis, S3 endpoints).
    (re.compile(r"(://[^:/@\s]+):[^@\s]+@"), r"\1:" + MASK + "@"),
    # ?token=...&password=... in query strings.
    (
        re.compile(r"(?i)([?&;](?:[\w.-]*(?:token|pass(?:word)?|secret|key)[\w.-]*)=)[^&\s\"']*"),
        r"\1" + MASK,
    ),
)
# Shortest secret value that is masked wherever it appears: masking "a" or
# "1" everywhere would make the lines unreadable and hide nothing.
MIN_HIDDEN_LENGTH = 4


@dataclass
class LogContext:
    """The ids of what is being handled, and the secret values it holds."""

    request_id: str | None = None
    user_id: str | None = None
    execution_id: str | None = None
    hidden: set[str] = field(default_factory=set)


_current: ContextVar[LogContext | None] = ContextVar("scriptbox_log_context", default=None)


@contextmanager
def handling(
    *, request_id: str | None = None, user_id: str | None = None, execution_id: str | None = None
) -> Iterator[LogContext]:
    """Lines logged inside (and in the tasks started inside) carry these ids."""
    context = LogContext(request_id, user_id, execution_id)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def for_execution(execution_id: str, user_id: str) -> contextvars.Context:
    """A context to start a run's task in: its lines carry these ids."""
    context = contextvars.copy_context()
    context.run(_current.set, LogContext(None, user_id, execution_id))
    return context


def current() -> LogContext | None:
    return _current.get()


def note_user(user_id: str) -> None:
    """The caller is known: later lines of this request name them."""
    context = _current.get()
    if context is not None:
        context.user_id = user_id


def hide(values: Iterable[str]) -> None:
    """Secret values of this run: masked in any line it logs from now on."""
    context = _current.get()
    if context is not None:
        context.hidden.update(v for v in values if len(v) >= MIN_HIDDEN_LENGTH)


def add_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    context = _current.get()
    if context is not None:
        for name in ID_FIELDS:
            event_dict.setdefault(name, getattr(context, name))
    return event_dict


def shape_uvicorn_lines(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """uvicorn's access line as fields too (client, method, path, status),
    without the query string: GraphQL GETs carry variables there, and
    clients put tokens in URLs. (And no copy of the line with colour codes.)"""
    event_dict.pop("color_message", None)
    args = event_dict.pop("positional_args", None)
    is_access = event_dict.get("logger") == "uvicorn.access"
    if is_access and isinstance(args, tuple) and len(args) == 5:
        client, method, full_path, version, status = args
        path, query_mark, _ = str(full_path).partition("?")
        path += "?..." if query_mark else ""
        event_dict["event"] = f'{client} - "{method} {path} HTTP/{version}" {status}'
        event_dict.update(client=client, method=method, path=path, status=status)
    return event_dict


def redact(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    context = _current.get()
    hidden = sorted(context.hidden, key=len, reverse=True) if context is not None else []
    for key, value in list(event_dict.items()):
        if key.startswith("_"):
            continue
        if SECRET_FIELD.search(key) and value is not None:
            event_dict[key] = MASK
        elif isinstance(value, str):
            event_dict[key] = redact_text(value, hidden)
    return event_dict


def redact_text(text: str, hidden: Iterable[str] = ()) -> str:
    for value in hidden:
        text = text.replace(value, MASK)
    for pattern, replacement in SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def processors() -> list[Processor]:
    """What every line goes through before it is rendered."""
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_ids,
        shape_uvicorn_lines,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.format_exc_info,
    ]


def configure(log_format: Literal["text", "json"], level: int | str = logging.INFO) -> None:
    """One handler on the root logger, in the chosen format; every logger of
    the process (ours, uvicorn's, the ORM's) writes through it."""
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=processors(),
        pass_foreign_args=True,
        processors=[
            redact,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers write through the root's handler, not their own, at
    # the root's level until uvicorn's `log_level` sets theirs (an earlier
    # uvicorn in the same process may have left them quieter, or disabled).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
        logger.disabled = False
