"""How the client writes: Rich tables, colour and a spinner on a terminal;
plain lines (tab-separated columns, no header, no colour) when stdout is a
pipe or a file, so `scriptbox runs | cut -f1` works."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def on_terminal() -> bool:
    return sys.stdout.isatty()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    if not on_terminal():
        for row in rows:
            sys.stdout.write("\t".join(row) + "\n")
        return
    drawn = Table(*headers, header_style="bold")
    for row in rows:
        drawn.add_row(*row)
    out.print(drawn)


def line(text: str) -> None:
    """Plain text, never read as Rich markup (paths may hold brackets)."""
    out.print(text, markup=False)


def note(text: str) -> None:
    """Progress and summaries: stderr, so stdout stays the command's data."""
    err.print(text, markup=False)


def spinner(text: str) -> AbstractContextManager[object]:
    if not sys.stderr.isatty():
        return nullcontext()
    return err.status(text, spinner="dots")


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
