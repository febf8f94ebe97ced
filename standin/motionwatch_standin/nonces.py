"""`enforce_nonce`: Discord answers a repeated nonce with the message it already made.

Discord keeps a nonce for "a few minutes"; the window here is configurable
(`DiscordStandIn(nonce_window=...)`, default 300 s) so that tests can cross it
in a second. Time is `time.monotonic` unless a clock is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_NONCE_WINDOW = 300.0

Clock = Callable[[], float]


@dataclass
class _Seen:
    message_id: int
    at: float


class NonceBook:
    def __init__(self, window: float = DEFAULT_NONCE_WINDOW, clock: Clock = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        # (channel id, nonce) -> the message created for it, and when.
        self._seen: dict[tuple[int, str], _Seen] = {}

    @property
    def window(self) -> float:
        return self._window

    @window.setter
    def window(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"nonce window must be >= 0 s, not {seconds}")
        self._window = float(seconds)

    def earlier(self, channel_id: int, nonce: str) -> int | None:
        """The message id an equal nonce created within the window, if any."""
        seen = self._seen.get((channel_id, nonce))
        if seen is None or self._clock() - seen.at >= self._window:
            return None
        return seen.message_id

    def remember(self, channel_id: int, nonce: str, message_id: int) -> None:
        key = (channel_id, nonce)
        # Re-inserted at the end: the dict stays in order of time, oldest first.
        self._seen.pop(key, None)
        self._seen[key] = _Seen(message_id, self._clock())
        self._forget_expired()

    def _forget_expired(self) -> None:
        now = self._clock()
        while self._seen:
            key, oldest = next(iter(self._seen.items()))
            if now - oldest.at < self._window:
                return
            del self._seen[key]
