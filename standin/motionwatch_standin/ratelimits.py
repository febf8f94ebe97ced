"""Discord's REST rate limits, off unless asked for (`DiscordStandIn(rate_limits=True)`).

Two kinds, as on Discord: per-route buckets keyed by the route and its major
parameter (the channel of POST /channels/{channel_id}/messages: 5 per 5 s),
and a global limit on the bot's calls (50 per second). Windows are fixed:
the first request starts one, and it ends ``window`` seconds later.

Every answer on a bucketed route carries X-RateLimit-Limit/Remaining/Reset/
Reset-After/Bucket; one over a limit is a 429 with ``retry_after`` and
``global`` in the body, Retry-After and X-RateLimit-Scope (plus
X-RateLimit-Global on a global one), and ``Via``: discord.py takes a 429
without ``Via`` for a Cloudflare ban and gives up.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from motionwatch_standin.payload import JSON

Clock = Callable[[], float]

MESSAGE_ROUTE = "POST /channels/{channel_id}/messages"
# Route parameters that make a bucket of their own (Discord's "major parameters").
MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id")

# Unbucketed routes keep the generous headers the stand-in always sent: they let
# discord.py send requests to one route concurrently.
GENEROUS_LIMIT, GENEROUS_WINDOW = 50, 1.0


@dataclass(frozen=True)
class RouteLimit:
    limit: int
    window: float


def _default_routes() -> dict[str, RouteLimit]:
    return {MESSAGE_ROUTE: RouteLimit(5, 5.0)}


@dataclass(frozen=True)
class RateLimits:
    """What is enforced: per-route buckets (``"METHOD /template"`` → limit per window,
    templates relative to /api/v10) and the global limit per window."""

    routes: Mapping[str, RouteLimit] = field(default_factory=_default_routes)
    global_limit: int = 50
    global_window: float = 1.0


@dataclass(frozen=True)
class RateLimitStats:
    """Counts since the stand-in started; ``requests`` counts every bot REST call."""

    requests: int
    limited: int
    global_limited: int

    @property
    def route_limited(self) -> int:
        return self.limited - self.global_limited


@dataclass
class _Window:
    limit: int
    window: float
    used: int = 0
    resets_at: float = 0.0

    def roll(self, now: float) -> None:
        if now >= self.resets_at:
            self.used, self.resets_at = 0, now + self.window

    def reset_after(self, now: float) -> float:
        return max(0.0, self.resets_at - now)


@dataclass(frozen=True)
class Verdict:
    """Headers for the answer; ``body`` set when the request is refused with 429."""

    headers: dict[str, str]
    body: JSON | None = None

    @property
    def limited(self) -> bool:
        return self.body is not None


class RateLimiter:
    def __init__(self, config: RateLimits | None = None, clock: Clock = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Window] = {}
        self._global: _Window | None = None
        self.requests = 0
        self.limited = 0
        self.global_limited = 0

    @property
    def config(self) -> RateLimits | None:
        return self._config

    @config.setter
    def config(self, config: RateLimits | None) -> None:
        # A new configuration starts with fresh windows.
        self._config = config
        self._buckets = {}
        self._global = (
            None if config is None else _Window(config.global_limit, config.global_window)
        )

    @property
    def stats(self) -> RateLimitStats:
        return RateLimitStats(self.requests, self.limited, self.global_limited)

    def check(self, route: str, params: Mapping[str, str], *, is_global: bool) -> Verdict:
        """Count one request to ``route`` ("METHOD /template"); ``is_global``: it counts
        against the bot's global limit (not interaction or webhook-token routes)."""
        self.requests += 1
        now, wall = self._clock(), time.time()
        config = self._config
        if config is None:
            return Verdict(self.generous_headers())
        if is_global and self._global is not None:
            self._global.roll(now)
            if self._global.used >= self._global.limit:
                return self._refuse(self._global.reset_after(now), {}, scope="global")
            self._global.used += 1
        limit = config.routes.get(route)
        if limit is None:
            return Verdict(self.generous_headers())
        major = "+".join(params[p] for p in MAJOR_PARAMETERS if p in params)
        bucket = self._buckets.setdefault((route, major), _Window(limit.limit, limit.window))
        bucket.roll(now)
        over = bucket.used >= bucket.limit
        if not over:
            bucket.used += 1
        after = bucket.reset_after(now)
        headers = _headers(bucket.limit, bucket.limit - bucket.used, after, wall)
        headers["X-RateLimit-Bucket"] = _bucket_hash(route)
        if over:
            return self._refuse(after, headers, scope="user")
        return Verdict(headers)

    @staticmethod
    def generous_headers() -> dict[str, str]:
        return _headers(GENEROUS_LIMIT, GENEROUS_LIMIT - 1, GENEROUS_WINDOW, time.time())

    def _refuse(self, retry_after: float, headers: dict[str, str], *, scope: str) -> Verdict:
        self.limited += 1
        is_global = scope == "global"
        if is_global:
            self.global_limited += 1
            headers = {**headers, "X-RateLimit-Global": "true"}
        # Discord's Retry-After header is whole seconds, rounded up; the body is exact.
        headers = {
            **headers,
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": scope,
            "Via": "1.1 google",
        }
        body: JSON = {
            "message": "You are being rate limited.",
            "retry_after": _up(retry_after),
            "global": is_global,
        }
        return Verdict(headers, body)


def _headers(limit: int, remaining: int, reset_after: float, wall: float) -> dict[str, str]:
    # X-RateLimit-Reset (epoch seconds) is read when the client trusts its clock.
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, remaining)),
        "X-RateLimit-Reset": f"{wall + _up(reset_after):.3f}",
        "X-RateLimit-Reset-After": f"{_up(reset_after):.3f}",
    }


def _up(seconds: float) -> float:
    # Rounded up to the millisecond: a client that waits this long finds the window over.
    return math.ceil(seconds * 1000) / 1000


def _bucket_hash(route: str) -> str:
    return hashlib.sha1(route.encode()).hexdigest()[:16]
