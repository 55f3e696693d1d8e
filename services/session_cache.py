"""Sessions already read, kept per access token until access changes.

Reading who a token speaks for costs a JWT check, the user's row and their
reach: most of an authenticated request that does little else (`me`). A
session is kept under its token with the access revision it was read at
(services/access_watch.py) and served while that revision holds and the token
has not expired. Every change that takes access away or gives it moves the
revision: in this process at once, in the others at their next poll, which is
the bound within which open sockets learn of it too. A change that sends no
signal (an operator deleting a user's row) is seen once a kept session is
`max_age` old, the same bound; sockets read afresh at every re-check and
never take a kept session.

Only sessions whose reach cannot change without such a signal are kept: a
person's own login, reaching their own rows and nothing shared. What is
shared spreads down folders that move and grow without one, and an API
token's use is recorded as it happens, so both are read afresh."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.accounts import AccessSession

# Enough for every active login of a busy process; the oldest go first.
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class _Kept:
    revision: Hashable
    session: AccessSession
    read_at: float


class SessionCache:
    def __init__(
        self,
        revision: Callable[[], Hashable | None],
        max_age: float,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self._revision = revision
        self._max_age = max_age
        self._max = max_sessions
        self._kept: OrderedDict[str, _Kept] = OrderedDict()

    def revision(self) -> Hashable | None:
        """Read before a session is: what it is kept under (None: keep nothing)."""
        return self._revision()

    def get(self, token: str) -> AccessSession | None:
        kept = self._kept.get(token)
        if kept is None:
            return None
        revision = self._revision()
        expires_at = kept.session.expires_at
        if (
            revision is None
            or kept.revision != revision
            or time.monotonic() - kept.read_at >= self._max_age
            or (expires_at is not None and expires_at <= datetime.now(UTC))
        ):
            del self._kept[token]
            return None
        self._kept.move_to_end(token)
        return kept.session

    def keep(self, token: str, revision: Hashable | None, session: AccessSession) -> None:
        """Keep `session`, read for `token` after `revision` was read: a change
        made while it was being read leaves it kept under a revision gone."""
        caller = session.caller
        if revision is None or caller.token is not None or caller.shared or not caller.own_tree:
            return
        self._kept[token] = _Kept(revision, session, time.monotonic())
        self._kept.move_to_end(token)
        while len(self._kept) > self._max:
            self._kept.popitem(last=False)

    def forget(self, token: str) -> None:
        self._kept.pop(token, None)
