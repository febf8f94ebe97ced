"""Feed fetching against a real HTTP server on loopback, and the SSRF guard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web

from news.fetch import fetch_feed
from news.ssrf import HostNotFound, UnsafeURL, check_url

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
PUBLIC_IP = "93.184.216.34"


@dataclass
class FeedServer:
    """A loopback aiohttp server whose handlers record what they were asked."""

    base: str
    port: int
    release: asyncio.Event
    hits: dict[str, int] = field(default_factory=dict)
    conditional_hits: int = 0

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


async def fake_resolver(host: str, port: int) -> list[str]:
    """Names the tests use; anything else does not resolve."""
    table = {
        "public.example": [PUBLIC_IP],
        "internal.example": ["10.1.2.3"],
        "mixed.example": [PUBLIC_IP, "10.0.0.5"],
        "metadata.example": ["169.254.169.254"],
        "mapped.example": ["::ffff:127.0.0.1"],
        "v6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    }
    if host not in table:
        raise HostNotFound(f"cannot resolve host {host}")
    return table[host]


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    release = asyncio.Event()
    state = FeedServer(base="", port=0, release=release)

    def count(request: web.Request) -> None:
        state.hits[request.path] = state.hits.get(request.path, 0) + 1

    async def feed(request: web.Request) -> web.StreamResponse:
        count(request)
        if (
            request.headers.get("If-None-Match") == ETAG
            and request.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            state.conditional_hits += 1
            return web.Response(status=304, headers={"ETag": ETAG})
        return web.Response(
            body=FEED,
            content_type="application/rss+xml",
            headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
        )

    async def fail(request: web.Request) -> web.StreamResponse:
        count(request)
        return web.Response(status=500, text="boom")

    async def hang(request: web.Request) -> web.StreamResponse:
        count(request)
        # Held until teardown, so only the client's deadline can end the request.
        await release.wait()
        return web.Response(body=FEED)

    async def big_chunked(request: web.Request) -> web.StreamResponse:
        count(request)
        # No Content-Length: the cap must be enforced while streaming.
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"x" * 1024)
        await response.write_eof()
        return response

    async def big_declared(request: web.Request) -> web.StreamResponse:
        count(request)
        return web.Response(body=b"x" * 10_240)

    async def loop(request: web.Request) -> web.StreamResponse:
        count(request)
        raise web.HTTPFound("/loop")

    async def once(request: web.Request) -> web.StreamResponse:
        count(request)
        raise web.HTTPMovedPermanently("/feed")

    async def to_private(request: web.Request) -> web.StreamResponse:
        count(request)
        raise web.HTTPFound("http://10.0.0.1/feed")

    async def to_internal(request: web.Request) -> web.StreamResponse:
        count(request)
        raise web.HTTPFound("http://internal.example/feed")

    async def to_loopback(request: web.Request) -> web.StreamResponse:
        count(request)
        raise web.HTTPFound(f"http://127.0.0.1:{state.port}/feed")

    app = web.Application()
    app.router.add_get("/feed", feed)
    app.router.add_get("/fail", fail)
    app.router.add_get("/hang", hang)
    app.router.add_get("/big-chunked", big_chunked)
    app.router.add_get("/big-declared", big_declared)
    app.router.add_get("/loop", loop)
    app.router.add_get("/once", once)
    app.router.add_get("/to-private", to_private)
    app.router.add_get("/to-internal", to_internal)
    app.router.add_get("/to-loopback", to_loopback)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    state.base = f"http://127.0.0.1:{state.port}"
    try:
        yield state
    finally:
        release.set()
        await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: a proxy from the environment must not intercept loopback tests.
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as c:
        yield c


class PinnedTransport(httpx.AsyncBaseTransport):
    """Sends "public.example" to the loopback server and logs every request it is given.

    This lets a hop look public to the guard (via fake_resolver) while still being
    served locally, and proves that refused hops never reach the network.
    """

    def __init__(self, port: int) -> None:
        self._port = port
        self._inner = httpx.AsyncHTTPTransport()
        self.requested: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requested.append(str(request.url))
        if request.url.host == "public.example":
            request.url = request.url.copy_with(host="127.0.0.1", port=self._port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


# --- fetching ----------------------------------------------------------------------


async def test_200_returns_body_and_validators(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    result = await fetch_feed(
        client, server.url("/feed"), etag=None, last_modified=None, allow_private=True
    )
    assert result.status == "ok"
    assert result.body == FEED
    assert result.etag == ETAG
    assert result.last_modified == LAST_MODIFIED
    assert result.final_url == server.url("/feed")
    assert result.error is None


async def test_conditional_round_trip_gets_304(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    first = await fetch_feed(
        client, server.url("/feed"), etag=None, last_modified=None, allow_private=True
    )
    assert server.conditional_hits == 0
    for expected in (1, 2):
        again = await fetch_feed(
            client,
            server.url("/feed"),
            etag=first.etag,
            last_modified=first.last_modified,
            allow_private=True,
        )
        assert again.status == "not_modified"
        assert again.body is None
        assert (again.etag, again.last_modified) == (ETAG, LAST_MODIFIED)
        assert server.conditional_hits == expected
    assert server.hits["/feed"] == 3


async def test_http_500_is_an_error(server: FeedServer, client: httpx.AsyncClient) -> None:
    result = await fetch_feed(
        client, server.url("/fail"), etag=ETAG, last_modified=None, allow_private=True
    )
    assert result.status == "error"
    assert result.error == "HTTP 500"
    assert result.body is None
    assert result.etag == ETAG  # kept, so the next poll can still be conditional


async def test_hanging_server_times_out(server: FeedServer, client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    result = await fetch_feed(
        client, server.url("/hang"), etag=None, last_modified=None, allow_private=True, timeout=0.5
    )
    elapsed = time.monotonic() - started
    assert result.status == "error"
    assert result.error == "timed out after 0.5 s"
    assert server.hits["/hang"] == 1
    assert 0.4 <= elapsed < 2.0


@pytest.mark.parametrize("path", ["/big-chunked", "/big-declared"])
async def test_oversize_body_is_refused(
    server: FeedServer, client: httpx.AsyncClient, path: str
) -> None:
    result = await fetch_feed(
        client, server.url(path), etag=None, last_modified=None, allow_private=True, max_bytes=1000
    )
    assert result.status == "error"
    assert result.error == "body over 1000 bytes"
    assert result.body is None


async def test_body_at_the_cap_is_accepted(server: FeedServer, client: httpx.AsyncClient) -> None:
    result = await fetch_feed(
        client,
        server.url("/big-chunked"),
        etag=None,
        last_modified=None,
        allow_private=True,
        max_bytes=10_240,
    )
    assert result.status == "ok"
    assert result.body == b"x" * 10_240


async def test_redirect_is_followed(server: FeedServer, client: httpx.AsyncClient) -> None:
    result = await fetch_feed(
        client, server.url("/once"), etag=None, last_modified=None, allow_private=True
    )
    assert result.status == "ok"
    assert result.body == FEED
    assert result.final_url == server.url("/feed")


async def test_redirect_loop_stops(server: FeedServer, client: httpx.AsyncClient) -> None:
    result = await fetch_feed(
        client,
        server.url("/loop"),
        etag=None,
        last_modified=None,
        allow_private=True,
        max_redirects=5,
    )
    assert result.status == "error"
    assert result.error == "too many redirects (5)"
    # The first request plus five followed redirects; the sixth redirect is not followed.
    assert server.hits["/loop"] == 6


async def test_unreachable_server_is_an_error_not_an_exception(
    client: httpx.AsyncClient,
) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    result = await fetch_feed(
        client, "http://127.0.0.1:1/feed", etag=None, last_modified=None, allow_private=True
    )
    assert result.status == "error"
    assert result.error is not None
    assert result.error.startswith("network error")


# --- the guard inside fetch_feed ---------------------------------------------------


async def test_loopback_url_refused_without_allow_private(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    result = await fetch_feed(
        client, server.url("/feed"), etag=None, last_modified=None, allow_private=False
    )
    assert result.status == "error"
    assert result.error == "refused: resolves to a loopback address 127.0.0.1"
    assert server.hits == {}


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed.xml"])
async def test_non_http_scheme_refused(client: httpx.AsyncClient, url: str) -> None:
    result = await fetch_feed(client, url, etag=None, last_modified=None, allow_private=True)
    assert result.status == "error"
    assert result.error is not None
    assert result.error.startswith("refused: scheme")
    assert "is not http or https" in result.error


@pytest.mark.parametrize(
    ("path", "refusal"),
    [
        ("/to-private", "refused: resolves to a private address 10.0.0.1"),
        ("/to-internal", "refused: resolves to a private address 10.1.2.3"),
        ("/to-loopback", "refused: resolves to a loopback address 127.0.0.1"),
    ],
)
async def test_redirect_to_private_address_refused(
    server: FeedServer, path: str, refusal: str
) -> None:
    transport = PinnedTransport(server.port)
    async with httpx.AsyncClient(transport=transport, follow_redirects=False) as pinned:
        # The sanity check: the same first hop to a public feed is fetched fine.
        ok = await fetch_feed(
            pinned,
            "http://public.example/feed",
            etag=None,
            last_modified=None,
            allow_private=False,
            resolver=fake_resolver,
        )
        assert ok.status == "ok"
        transport.requested.clear()

        result = await fetch_feed(
            pinned,
            f"http://public.example{path}",
            etag=None,
            last_modified=None,
            allow_private=False,
            resolver=fake_resolver,
        )
    assert result.status == "error"
    assert result.error == refusal
    assert result.final_url.endswith("/feed")
    # Only the public first hop was requested; the refused hop never went out.
    assert transport.requested == [f"http://public.example{path}"]
    assert server.hits[path] == 1


async def test_unresolvable_host_is_an_error(client: httpx.AsyncClient) -> None:
    result = await fetch_feed(
        client,
        "http://nowhere.example/feed",
        etag=None,
        last_modified=None,
        allow_private=False,
        resolver=fake_resolver,
    )
    assert result.status == "error"
    assert result.error == "cannot resolve host nowhere.example"


# --- check_url ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file' is not http or https"),
        ("ftp://example.com/x", "scheme 'ftp' is not http or https"),
        ("gopher://example.com/", "scheme 'gopher' is not http or https"),
        ("http:///feed", "the URL has no host"),
        ("http://127.0.0.1/", "resolves to a loopback address 127.0.0.1"),
        ("http://127.1.2.3:8080/", "resolves to a loopback address 127.1.2.3"),
        ("http://[::1]/", "resolves to a loopback address ::1"),
        ("http://[::ffff:127.0.0.1]/", "resolves to a loopback address 127.0.0.1"),
        ("http://[::ffff:10.0.0.5]/", "resolves to a private address 10.0.0.5"),
        ("http://10.0.0.5/", "resolves to a private address 10.0.0.5"),
        ("http://192.168.1.1/", "resolves to a private address 192.168.1.1"),
        ("http://172.16.0.1/", "resolves to a private address 172.16.0.1"),
        ("http://[fd00::1]/", "resolves to a private address fd00::1"),
        ("http://169.254.169.254/", "resolves to a link-local address 169.254.169.254"),
        ("http://[fe80::1]/", "resolves to a link-local address fe80::1"),
        ("http://0.0.0.0/", "resolves to an unspecified address 0.0.0.0"),
        ("http://224.0.0.1/", "resolves to a multicast address 224.0.0.1"),
        ("http://240.0.0.1/", "resolves to a reserved address 240.0.0.1"),
        ("http://100.64.0.1/", "resolves to a non-public address 100.64.0.1"),
        ("http://internal.example/", "resolves to a private address 10.1.2.3"),
        ("https://mixed.example/", "resolves to a private address 10.0.0.5"),
        ("http://metadata.example/", "resolves to a link-local address 169.254.169.254"),
        ("http://mapped.example/", "resolves to a loopback address 127.0.0.1"),
    ],
)
async def test_check_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURL) as caught:
        await check_url(url, allow_private=False, resolver=fake_resolver)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "url",
    ["http://public.example/feed", "https://v6.example/", f"http://{PUBLIC_IP}/rss"],
)
async def test_check_url_accepts_public(url: str) -> None:
    await check_url(url, allow_private=False, resolver=fake_resolver)


async def test_allow_private_skips_the_address_rules_but_not_the_scheme() -> None:
    await check_url("http://127.0.0.1/", allow_private=True)
    await check_url("http://internal.example/", allow_private=True, resolver=fake_resolver)
    with pytest.raises(UnsafeURL):
        await check_url("file:///etc/passwd", allow_private=True)


async def test_default_resolver_sees_localhost_as_loopback() -> None:
    # The real getaddrinfo path: "localhost" resolves from /etc/hosts, no network needed.
    with pytest.raises(UnsafeURL) as caught:
        await check_url("http://localhost:8080/feed", allow_private=False)
    assert caught.value.reason.startswith("resolves to a loopback address")
