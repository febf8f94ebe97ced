"""Fetch one feed over HTTP: conditional, bounded in time and size, SSRF-checked per hop.

No parsing happens here; the caller gets the raw bytes or a short reason it can show.
The client should come from `news.http.feed_client`, which re-checks every connection at
connect time (DNS rebinding); any httpx client works, with only the per-hop check.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

import httpx

from news.decoding import ACCEPT_ENCODING, BodyRefused, BoundedDecoder, content_codings
from news.ssrf import HostNotFound, Resolver, UnsafeURL, check_url

logger = logging.getLogger(__name__)

FetchStatus = Literal["ok", "not_modified", "error"]

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one poll of a feed produced."""

    status: FetchStatus
    body: bytes | None
    etag: str | None
    last_modified: str | None
    final_url: str
    error: str | None = None


class _FetchError(Exception):
    """Internal: stops the fetch with a reason a person can read."""


def _seconds(value: float) -> str:
    return f"{value:g} s"


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    allow_private: bool,
    timeout: float = 10.0,  # noqa: ASYNC109 - the poller's budget; enforced by asyncio.timeout
    max_bytes: int = 2_000_000,
    max_redirects: int = 5,
    resolver: Resolver | None = None,
    max_raw_bytes: int | None = None,
) -> FetchResult:
    """GET `url`, following at most `max_redirects` redirects, every hop SSRF-checked.

    `client` must be created with follow_redirects=False (news.http.feed_client is):
    redirects are followed here so that no hop escapes the guard. The body is at most
    `max_bytes` once decoded, at most one Content-Encoding is accepted, and at most
    `max_raw_bytes` (by default a little over `max_bytes`) are read off the network.
    Never raises for network or HTTP trouble; the result says "error" with a reason.
    """
    current = url

    def failed(reason: str) -> FetchResult:
        # Keep the validators on error: a failing poll must not force a full refetch later.
        return FetchResult("error", None, etag, last_modified, current, reason)

    # Exactly the codings _read_capped decodes; httpx would offer its own list otherwise.
    headers: dict[str, str] = {"Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified

    try:
        # One deadline for DNS, connect and read of every hop: a slow-drip server or a
        # long redirect chain cannot hold the poll longer than `timeout` in total.
        async with asyncio.timeout(timeout):
            redirects = 0
            while True:
                await check_url(current, allow_private=allow_private, resolver=resolver)
                logger.debug("GET %s", current)
                async with client.stream(
                    "GET", current, headers=headers, follow_redirects=False, timeout=timeout
                ) as response:
                    if response.status_code in REDIRECT_CODES:
                        location = response.headers.get("location")
                        if not location:
                            raise _FetchError(f"HTTP {response.status_code} without Location")
                        if redirects >= max_redirects:
                            raise _FetchError(f"too many redirects ({max_redirects})")
                        redirects += 1
                        # Location may be relative; resolve it against the hop that sent it.
                        current = str(response.url.join(location))
                        continue
                    if response.status_code == 304:
                        # Read the (empty) body so the connection goes back to the pool
                        # instead of being closed: a TLS handshake per source per poll.
                        await response.aread()
                        return FetchResult(
                            "not_modified",
                            None,
                            response.headers.get("etag") or etag,
                            response.headers.get("last-modified") or last_modified,
                            current,
                        )
                    if not 200 <= response.status_code < 300:
                        raise _FetchError(f"HTTP {response.status_code}")
                    body = await _read_capped(
                        response, max_bytes, max_raw_bytes or default_max_raw_bytes(max_bytes)
                    )
                    return FetchResult(
                        "ok",
                        body,
                        response.headers.get("etag"),
                        response.headers.get("last-modified"),
                        current,
                    )
    except (_FetchError, BodyRefused) as exc:
        return failed(str(exc))
    except HostNotFound as exc:
        return failed(exc.reason)
    except UnsafeURL as exc:
        return failed(f"refused: {exc.reason}")
    except (TimeoutError, httpx.TimeoutException):
        return failed(f"timed out after {_seconds(timeout)}")
    except httpx.InvalidURL as exc:
        return failed(f"invalid URL ({exc})")
    except (httpx.HTTPError, httpx.StreamError, OSError) as exc:
        # httpx messages can be empty; the class name alone still says what went wrong.
        detail = str(exc).strip()
        name = type(exc).__name__
        logger.debug("fetch of %s failed", current, exc_info=True)
        return failed(f"network error ({name}: {detail})" if detail else f"network error ({name})")


def default_max_raw_bytes(max_bytes: int) -> int:
    """The compressed-size cap for a `max_bytes` body: room for the framing of data
    that does not compress (a stored deflate block costs 5 bytes in 64 KB), no more."""
    return max_bytes + max_bytes // 64 + 1024


async def _read_capped(response: httpx.Response, max_bytes: int, max_raw_bytes: int) -> bytes:
    """Read and decode the body, giving up as soon as it passes either cap.

    The raw bytes are decoded here, not by httpx: see news.decoding for why.
    """
    decoder = BoundedDecoder(
        content_codings(response.headers.get_list("content-encoding")),
        max_bytes=max_bytes,
        max_raw_bytes=max_raw_bytes,
    )
    # Refuse before reading anything when the server admits the size up front.
    decoder.check_declared_length(response.headers.get("content-length"))
    async for chunk in response.aiter_raw():
        decoder.feed(chunk)
    return decoder.body()
