"""Which headers cross the proxy, each way.

Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection and
never cross, nor do those the `Connection` header names. The caller's
credentials never reach the service: it is someone else's code, and an
access token or a session cookie for Scriptbox is worth more than the
request. Forwarding headers a caller sent are replaced by the proxy's own,
so a service can trust them as far as it trusts Scriptbox.
"""

from __future__ import annotations

from collections.abc import Iterable

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
CREDENTIALS = frozenset({"authorization", "cookie"})
FORWARDING = frozenset(
    {"forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-prefix", "x-forwarded-host"}
)

RawHeaders = list[tuple[bytes, bytes]]


def _named_by_connection(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[str]:
    named: set[str] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(t.strip().lower() for t in value.decode("latin-1").split(","))
    return frozenset(named)


def _crossing(headers: Iterable[tuple[bytes, bytes]], dropped: frozenset[str]) -> RawHeaders:
    headers = list(headers)
    drop = dropped | _named_by_connection(headers)
    return [
        (name, value)
        for name, value in headers
        if name.decode("latin-1").lower() not in drop and not name.lower().startswith(b"proxy-")
    ]


def to_service(
    headers: Iterable[tuple[bytes, bytes]], client: str, scheme: str, prefix: str
) -> RawHeaders:
    """The caller's headers as the service gets them."""
    kept = _crossing(headers, HOP_BY_HOP | CREDENTIALS | FORWARDING)
    return [
        *kept,
        (b"x-forwarded-for", client.encode("latin-1")),
        (b"x-forwarded-proto", scheme.encode("latin-1")),
        (b"x-forwarded-prefix", prefix.encode("latin-1")),
    ]


def to_caller(headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    """The service's response headers as the caller gets them."""
    return _crossing(headers, HOP_BY_HOP)
