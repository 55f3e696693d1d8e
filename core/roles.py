"""The words of sharing and delegation: a person's role in a shared folder,
and the scopes an API token carries. Stored by value in tables, shown as
GraphQL enums, compared by strength."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a grant on a folder allows in its subtree; each role includes
    the ones before it."""

    VIEWER = "viewer"  # see folders, scripts, content and versions
    RUNNER = "runner"  # also run and schedule them, and see one's own runs
    EDITOR = "editor"  # also create, change, move, delete; see every run

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.VIEWER: 1, Role.RUNNER: 2, Role.EDITOR: 3}


def strongest(roles: list[Role]) -> Role | None:
    return max(roles, key=lambda role: role.rank) if roles else None


class TokenScope(StrEnum):
    """What an API token may do. A signed-in person (a JWT session) has every
    scope; a token only those it was made with."""

    READ = "read"  # queries, subscriptions, downloads
    RUN = "run"  # also start and cancel runs, batches, schedules
    WRITE = "write"  # also change the tree, files and secrets
    ADMIN = "admin"  # an admin's powers (only on an admin's token)


ALL_SCOPES = frozenset(TokenScope)


def granted_scopes(scopes: frozenset[TokenScope]) -> frozenset[TokenScope]:
    """The scopes a token holds: what it was made with, and READ with RUN or
    WRITE (a token that may start a run may read the run it started)."""
    if scopes & {TokenScope.RUN, TokenScope.WRITE}:
        return scopes | {TokenScope.READ}
    return scopes
