"""Masks secret values in output, also when a value is split across chunks."""

from __future__ import annotations

MASK = "***"


class OutputMasker:
    """One per output stream. `feed` returns what may be shown now; a tail
    that could be the start of a secret is held back until the next chunk
    (or `flush`) shows whether it is one."""

    def __init__(self, secrets: list[str]) -> None:
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pending = ""

    def feed(self, text: str) -> str:
        if not self._secrets:
            return text
        buffer = self._mask(self._pending + text)
        hold = self._held_tail(buffer)
        self._pending = buffer[len(buffer) - hold :] if hold else ""
        return buffer[: len(buffer) - hold]

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return self._mask(rest)

    def mask(self, text: str) -> str:
        return self._mask(text) if self._secrets else text

    def _mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def _held_tail(self, buffer: str) -> int:
        longest = 0
        for secret in self._secrets:
            for size in range(min(len(secret) - 1, len(buffer)), longest, -1):
                if buffer.endswith(secret[:size]):
                    longest = size
                    break
        return longest
