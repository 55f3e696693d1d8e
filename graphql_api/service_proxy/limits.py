"""The proxy's caps on one exchange with a service, from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings


@dataclass(frozen=True)
class ProxyLimits:
    max_request_bytes: int = 10 * 2**20
    max_response_bytes: int = 50 * 2**20
    connect_seconds: float = 5.0
    # From the last byte of the request to the first of the response's head,
    # and then between two reads of its body.
    first_byte_seconds: float = 30.0
    total_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ProxyLimits:
        return cls(
            max_request_bytes=settings.service_proxy_max_request_bytes,
            max_response_bytes=settings.service_proxy_max_response_bytes,
            connect_seconds=settings.service_proxy_connect_seconds,
            first_byte_seconds=settings.service_proxy_first_byte_seconds,
            total_seconds=settings.service_proxy_total_seconds,
        )
