"""What happened: the request log, the violations, and waiting for news.

Waiting uses a generation event: every change replaces and sets the current
`asyncio.Event`, so a waiter re-checks its condition exactly when something
changed. Notifying is synchronous, so plain functions (the message store, the
gateway's dispatch) can announce changes without awaiting a lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from motionwatch_standin.payload import StandInTimeout

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class FileRecord:
    part: str
    filename: str
    size: int
    content_type: str | None


@dataclass
class RequestRecord:
    """One HTTP request the client sent. `path` is relative to /api/v10."""

    method: str
    path: str
    query: dict[str, str]
    at: float
    json: Any = None
    files: list[FileRecord] = field(default_factory=list)
    multipart: bool = False
    status: int = 0
    route: str | None = None
    validation_ms: float | None = None
    violations: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How violations name this request: method and path, tokens shortened."""
        parts = [_shorten(part) for part in self.path.split("/")]
        return f"{self.method} {'/'.join(parts)}"


def _shorten(segment: str) -> str:
    # Interaction tokens are ~200 characters; keep messages readable.
    return segment if len(segment) <= 24 else segment[:8] + "…"


class Journal:
    def __init__(self) -> None:
        self.requests: list[RequestRecord] = []
        self.violations: list[str] = []
        self._changed: asyncio.Event | None = None

    def record(self, request: RequestRecord) -> None:
        self.requests.append(request)
        self.notify()

    def violation(self, request: RequestRecord | str, rule: str) -> str:
        label = request.label if isinstance(request, RequestRecord) else request
        text = f"{label}: {rule}"
        self.violations.append(text)
        if isinstance(request, RequestRecord):
            request.violations.append(rule)
        log.warning("violation: %s", text)
        self.notify()
        return text

    def notify(self) -> None:
        event = self._changed
        self._changed = None
        if event is not None:
            event.set()

    # Waits take a `timeout` argument (ASYNC109) rather than relying on the
    # caller's asyncio.timeout so that the error can say what was awaited.
    async def wait_for(self, probe: Callable[[], T | None], timeout: float, what: str) -> T:  # noqa: ASYNC109
        """The first non-None, non-False value `probe` returns; re-checked on each change."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    result = probe()
                    if result is not None and result is not False:
                        return result
                    if self._changed is None:
                        self._changed = asyncio.Event()
                    await self._changed.wait()
        except TimeoutError:
            raise StandInTimeout(f"timed out after {timeout} s waiting for {what}") from None
