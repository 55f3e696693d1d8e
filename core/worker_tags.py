"""Worker tags: the words a run names to choose where it goes.

A worker carries the tags of SCRIPTBOX_WORKER_TAGS and, implicitly, its own
name; a run, schedule or batch may require one tag, and only a worker that
carries it claims the run. One grammar for both sides, so a tag a worker
carries can always be asked for: letters, digits and `.`, `_`, `-`, `:`
(host names and the names tests give workers fit), starting with a letter or
digit, at most 128 characters (the width of a worker's name). Tags are
compared exactly, case included, as worker names are."""

from __future__ import annotations

import re

from core.errors import BadUserInput

MAX_TAG_LENGTH = 128
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


def tag_problem(tag: str) -> str | None:
    """Why `tag` is not a tag, or None when it is one."""
    if not tag:
        return "A tag must not be empty."
    if len(tag) > MAX_TAG_LENGTH:
        return f"A tag may have at most {MAX_TAG_LENGTH} characters."
    if not _TAG.fullmatch(tag):
        return (
            f"The tag {tag!r} may hold only letters, digits, '.', '_', '-' and ':', "
            "and must start with a letter or digit."
        )
    return None


def checked_tag(tag: str) -> str:
    """A tag a client asked for (`target`, `runOnWorkers`), or BAD_USER_INPUT."""
    problem = tag_problem(tag)
    if problem is not None:
        raise BadUserInput(problem)
    return tag


def checked_target(target: str | None) -> str | None:
    """An optional `target`: None runs anywhere."""
    return None if target is None else checked_tag(target)


def parse_worker_tags(raw: str) -> tuple[str, ...]:
    """SCRIPTBOX_WORKER_TAGS ("eu,gpu"): distinct tags in the order given;
    a bad one stops the worker at start-up rather than being ignored."""
    tags: list[str] = []
    for part in raw.split(","):
        tag = part.strip()
        if not tag:
            continue
        problem = tag_problem(tag)
        if problem is not None:
            raise ValueError(f"SCRIPTBOX_WORKER_TAGS: {problem}")
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)
