"""The exit codes of the client commands, declared once (README: "From the
command line"). A finished run passes on its script's own exit code, so the
codes the client adds for other endings sit where shells already put such
meanings: 124 like timeout(1), 125 like `docker run` failing before the
command started, 130 like an interrupt."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    # Click's own code for a bad option or argument.
    USAGE = 2
    # The service refused: the message and its `extensions.code` are printed.
    SERVICE_ERROR = 3
    # The service could not be reached, or answered something that is not GraphQL.
    UNREACHABLE = 4
    # `push`/`pull` found a conflict and wrote nothing.
    CONFLICT = 5
    # Not logged in: no stored token and no SCRIPTBOX_TOKEN.
    NOT_LOGGED_IN = 6
    # A local file or folder could not be read or written.
    LOCAL_FILE = 7
    # The run ran out of time (TIMED_OUT).
    TIMED_OUT = 124
    # The run failed without an exit code of its script: it never started
    # (a missing import, a dependency that failed to install, a lost worker).
    FAILED_BEFORE_START = 125
    # The run was cancelled, or following it was interrupted with Ctrl-C.
    CANCELLED = 130
