"""Hostile feeds (issue 10): decompression bombs, DNS rebinding, and IPv4 hidden in IPv6.

Real HTTP(S) servers on loopback; what is simulated is only what the sandbox lacks: the
DNS (a resolver answering what each test needs) and, where a test needs a "public" host
that can be reached, a network that routes one public address to the loopback server.
The guard itself (news.http, news.ssrf) and the decoding (news.decoding) are the real ones.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import ipaddress
import shutil
import ssl
import struct
import subprocess
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpcore
import httpx
import pytest
from aiohttp import web

from news.decoding import ACCEPT_ENCODING, SUPPORTED_CODINGS
from news.fetch import FetchResult, fetch_feed
from news.http import feed_client
from news.ssrf import HostNotFound, UnsafeURL, check_url, refusal
from tests.measuring import watching_the_loop

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
PUBLIC_IP = "93.184.216.34"
MiB = 1 << 20
T = TypeVar("T")


# --- the network these tests run on ------------------------------------------------


@dataclass
class FakeDNS:
    """Answers each name with its successive answers (the last one repeats); logs lookups."""

    answers: dict[str, list[list[str]]]
    lookups: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        asked = self.lookups.count(host)
        self.lookups.append(host)
        if host not in self.answers:
            raise HostNotFound(f"cannot resolve host {host}")
        sequence = self.answers[host]
        return sequence[min(asked, len(sequence) - 1)]


class SimulatedNetwork(httpcore.AsyncNetworkBackend):
    """Loopback as it is, PUBLIC_IP routed to 127.0.0.1 if `route_public`, nothing else.

    (The sandbox's real network cannot be relied on either way for a public address.)
    It logs what it is asked to connect to, which must always be an IP address: a host
    name reaching it would mean the guard let the name be resolved again.
    """

    def __init__(self, *, route_public: bool = True) -> None:
        self.connects: list[str] = []
        self._route_public = route_public
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append(host)
        target = "127.0.0.1" if host == PUBLIC_IP and self._route_public else host
        try:
            reachable = ipaddress.ip_address(target).is_loopback
        except ValueError as exc:
            raise httpcore.ConnectError(f"a host name reached the network: {host}") from exc
        if not reachable:
            raise httpcore.ConnectError(f"no route to {host}")
        return await self._real.connect_tcp(target, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    path: str
    host: str  # the Host header
    server_ip: str  # which of the server's addresses the connection reached
    connection: tuple[str, int]  # the client's end: one per TCP connection
    accept_encoding: str | None


@dataclass(frozen=True)
class Reply:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # streamed without Content-Length, in 64 KB writes
    status: int = 200


@dataclass
class Server:
    """aiohttp on 127.0.0.1 and 127.0.0.2 (same port), answering `replies` by path."""

    port: int
    replies: dict[str, Reply]
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.asynccontextmanager
async def serving(tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    state = Server(port=0, replies={})

    async def handle(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        assert transport is not None
        state.seen.append(
            Seen(
                path=request.path,
                host=request.headers.get("Host", ""),
                server_ip=transport.get_extra_info("sockname")[0],
                connection=transport.get_extra_info("peername")[:2],
                accept_encoding=request.headers.get("Accept-Encoding"),
            )
        )
        reply = state.replies.get(request.path, Reply(FEED))
        if not reply.chunked:
            return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for start in range(0, len(reply.body), 64 * 1024):
                await response.write(reply.body[start : start + 64 * 1024])
            await response.write_eof()
        except ConnectionError:
            pass  # the client gave up on the body, as it should
        return response

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1, handle_signals=False)
    await runner.setup()
    first = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await first.start()
    state.port = runner.addresses[0][1]
    # The same port on a second loopback address: two names, two addresses, one origin port.
    await web.TCPSite(runner, "127.0.0.2", state.port, ssl_context=tls).start()
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serving() as state:
        yield state


@pytest.fixture
async def plain() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        yield client


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    allow_private: bool,
    resolver: FakeDNS | None = None,
    max_bytes: int = 2_000_000,
    timeout: float = 10.0,  # noqa: ASYNC109 - passed on to fetch_feed
) -> FetchResult:
    return await fetch_feed(
        client,
        url,
        etag=None,
        last_modified=None,
        allow_private=allow_private,
        resolver=resolver,
        max_bytes=max_bytes,
        timeout=timeout,
    )


# --- 3. IPv4 addresses inside IPv6 ones --------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2002:7f00:1::1", "a loopback address 127.0.0.1 inside a 6to4 address 2002:7f00:1::1"),
        ("2002:a00:5::", "a private address 10.0.0.5 inside a 6to4 address 2002:a00:5::"),
        (
            "2002:a9fe:a9fe::1",
            "a link-local address 169.254.169.254 inside a 6to4 address 2002:a9fe:a9fe::1",
        ),
        ("64:ff9b::7f00:1", "a loopback address 127.0.0.1 inside a NAT64 address 64:ff9b::7f00:1"),
        (
            "64:ff9b::c0a8:101",
            "a private address 192.168.1.1 inside a NAT64 address 64:ff9b::c0a8:101",
        ),
        (
            "64:ff9b:1::a9fe:a9fe",
            "a link-local address 169.254.169.254 inside a local-use NAT64 address"
            " 64:ff9b:1::a9fe:a9fe",
        ),
        (
            "2001:0:7f00:1::1",
            "a loopback address 127.0.0.1 as the Teredo server of 2001:0:7f00:1::1",
        ),
        # The client address is stored with every bit inverted: ~10.0.0.5 = f5ff:fffa.
        (
            "2001:0:5db8:d822:0:0:f5ff:fffa",
            "a private address 10.0.0.5 as the Teredo client of 2001:0:5db8:d822::f5ff:fffa",
        ),
        (
            "2001:0:5db8:d822::80ff:fffe",
            "a loopback address 127.0.0.1 as the Teredo client of 2001:0:5db8:d822::80ff:fffe",
        ),
        ("::127.0.0.1", "a loopback address 127.0.0.1 inside an IPv4-compatible address ::7f00:1"),
        ("::10.1.2.3", "a private address 10.1.2.3 inside an IPv4-compatible address ::a01:203"),
        (
            "::ffff:0:127.0.0.1",
            "a loopback address 127.0.0.1 inside an IPv4-translated address ::ffff:0:7f00:1",
        ),
        ("::ffff:127.0.0.1", "a loopback address 127.0.0.1"),  # IPv4-mapped: judged as IPv4
        ("::ffff:172.16.0.1", "a private address 172.16.0.1"),
        ("::1", "a loopback address ::1"),  # not IPv4-compatible 0.0.0.1
        ("::", "an unspecified address ::"),
    ],
)
async def test_ipv6_forms_hiding_a_non_public_ipv4_are_refused(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason
    # The same, reached through a URL literal and through a name that resolves to it.
    dns = FakeDNS({"hidden.example": [[address]]})
    for url in (f"http://[{address}]/feed", "http://hidden.example/feed"):
        with pytest.raises(UnsafeURL) as caught:
            await check_url(url, allow_private=False, resolver=dns)
        assert caught.value.reason == f"resolves to {reason}"


def test_ipv6_forms_around_a_public_ipv4() -> None:
    # 6to4 reaches the public host through a relay: as public as the host itself.
    assert refusal(ipaddress.ip_address("2002:5db8:d822::1")) is None
    # The other forms are not globally routed (ipaddress: reserved or private) and stay
    # refused even around a public address, under the rule of the IPv6 form.
    for address in ("64:ff9b::5db8:d822", "::5db8:d822", "2001:0:5db8:d822::a247:27dd"):
        assert refusal(ipaddress.ip_address(address)) is not None
    assert refusal(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946")) is None


# --- 2. DNS rebinding and pinning --------------------------------------------------


async def test_rebinding_to_loopback_is_refused_at_connect(server: Server) -> None:
    # "localhost" is the name: a plain client would resolve it with the system (to
    # loopback) after check_url was told a public address, and reach the server.
    dns = FakeDNS({"localhost": [[PUBLIC_IP], ["127.0.0.1"]]})
    async with feed_client(user_agent="t", allow_private=False, resolver=dns) as client:
        result = await fetch(
            client,
            f"http://localhost:{server.port}/feed",
            allow_private=False,
            resolver=dns,
            timeout=2.0,
        )
    assert result.status == "error"
    assert result.error == "refused: resolves to a loopback address 127.0.0.1"
    assert dns.lookups == ["localhost", "localhost"]  # the guard's, then the connection's
    assert server.seen == []


async def test_the_connection_goes_to_the_checked_address(server: Server) -> None:
    # Straight through the client, no check_url first: the connection's own lookup says
    # public, a later one would say loopback. Only the checked (public) address is dialled.
    dns = FakeDNS({"rebind.example": [[PUBLIC_IP], ["127.0.0.1"]]})
    network = SimulatedNetwork(route_public=False)
    async with feed_client(
        user_agent="t", allow_private=False, resolver=dns, network=network
    ) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://rebind.example:{server.port}/feed", timeout=1.0)
    assert network.connects == [PUBLIC_IP]
    assert dns.lookups == ["rebind.example"]
    assert server.seen == []


@pytest.mark.parametrize(
    ("target", "reason", "lookups"),
    [
        # Refused by the per-hop check before anything connects.
        ("sneaky.example", "refused: resolves to a loopback address 127.0.0.1", 1),
        (
            "hidden.example",
            "refused: resolves to a private address 10.0.0.1 inside a 6to4 address 2002:a00:1::1",
            1,
        ),
        # Public to the per-hop check, loopback to the connection's lookup: refused there.
        ("flip.example", "refused: resolves to a loopback address 127.0.0.1", 2),
    ],
)
async def test_redirect_to_a_loopback_name_is_refused_at_that_hop(
    server: Server, target: str, reason: str, lookups: int
) -> None:
    server.replies["/go"] = Reply(
        b"", status=302, headers={"Location": f"http://{target}:{server.port}/feed"}
    )
    dns = FakeDNS(
        {
            "allowed.example": [[PUBLIC_IP]],
            "sneaky.example": [["127.0.0.1"]],
            "hidden.example": [["2002:a00:1::1"]],
            "flip.example": [[PUBLIC_IP], ["127.0.0.1"]],
        }
    )
    network = SimulatedNetwork()
    async with feed_client(
        user_agent="t", allow_private=False, resolver=dns, network=network
    ) as client:
        # The control: the allowed host is reachable (routed to loopback) and fetched.
        ok = await fetch(
            client, f"http://allowed.example:{server.port}/feed", allow_private=False, resolver=dns
        )
        assert ok.status == "ok" and ok.body == FEED
        server.seen.clear()

        result = await fetch(
            client, f"http://allowed.example:{server.port}/go", allow_private=False, resolver=dns
        )
    assert result.status == "error"
    assert result.error == reason
    assert result.final_url == f"http://{target}:{server.port}/feed"
    assert [s.path for s in server.seen] == ["/go"]
    assert dns.lookups.count(target) == lookups
    # Every connection went to the checked public address, none to a name or loopback.
    assert set(network.connects) == {PUBLIC_IP}


async def test_the_client_refuses_on_its_own(server: Server) -> None:
    # Without fetch_feed's check: any request through the client is guarded.
    dns = FakeDNS({"mixed.example": [[PUBLIC_IP, "127.0.0.1"]]})
    async with feed_client(user_agent="t", allow_private=False, resolver=dns) as client:
        with pytest.raises(UnsafeURL) as literal:
            await client.get(f"http://127.0.0.1:{server.port}/feed")
        with pytest.raises(UnsafeURL) as mixed:
            await client.get(f"http://mixed.example:{server.port}/feed")
        with pytest.raises(HostNotFound):
            await client.get(f"http://nowhere.example:{server.port}/feed")
    assert literal.value.reason == "resolves to a loopback address 127.0.0.1"
    assert mixed.value.reason == "resolves to a loopback address 127.0.0.1"
    assert server.seen == []


async def test_loopback_is_reached_with_allow_private(server: Server) -> None:
    dns = FakeDNS({"feed.example": [["127.0.0.1"]]})
    url = f"http://feed.example:{server.port}/feed"
    async with feed_client(user_agent="t", allow_private=True, resolver=dns) as client:
        result = await fetch(client, url, allow_private=True, resolver=dns)
    assert result.status == "ok" and result.body == FEED
    assert server.seen[0].host == f"feed.example:{server.port}"  # the name, not the IP
    assert server.seen[0].server_ip == "127.0.0.1"


async def test_connections_are_never_shared_between_names(server: Server) -> None:
    dns = FakeDNS(
        {
            "a.example": [["127.0.0.1"]],
            "b.example": [["127.0.0.2"]],
            "c.example": [["127.0.0.1"]],  # the same address as a, another name
        }
    )
    names = ["a", "b", "c", "a", "b", "c", "a"]
    async with feed_client(user_agent="t", allow_private=True, resolver=dns) as client:
        for name in names:
            result = await fetch(
                client, f"http://{name}.example:{server.port}/feed", allow_private=True
            )
            assert result.status == "ok"
    assert len(server.seen) == len(names)
    hosts_by_connection: dict[tuple[str, int], set[str]] = {}
    for seen in server.seen:
        hosts_by_connection.setdefault(seen.connection, set()).add(seen.host)
        expected_ip = "127.0.0.2" if seen.host.startswith("b.") else "127.0.0.1"
        assert seen.server_ip == expected_ip
    # One kept-alive connection per name, each only ever carrying that name.
    assert len(hosts_by_connection) == 3
    assert all(len(hosts) == 1 for hosts in hosts_by_connection.values())
    # Each name made one connection: a lookup per NEW connection, none for a reused one.
    assert sorted(dns.lookups) == ["a.example", "b.example", "c.example"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for a.example and b.example (not c.example)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=a.example",
            "-addext", "subjectAltName=DNS:a.example,DNS:b.example",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls_is_verified_against_the_name_and_never_shared(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    sni: list[str | None] = []
    tls.sni_callback = lambda _sock, name, _context: sni.append(name)
    trust = ssl.create_default_context(cafile=str(cert))
    # All three names are the same address: only the name tells them apart.
    dns = FakeDNS({f"{n}.example": [["127.0.0.1"]] for n in "abc"})
    async with serving(tls) as server:
        async with feed_client(
            user_agent="t", allow_private=True, resolver=dns, verify=trust
        ) as client:
            results = [
                await fetch(client, f"https://{n}.example:{server.port}/feed", allow_private=True)
                for n in "aba"
            ]
            wrong = await fetch(client, f"https://c.example:{server.port}/feed", allow_private=True)
        assert [r.status for r in results] == ["ok", "ok", "ok"]
        # c.example is not on the certificate: the handshake fails, nothing is sent.
        assert wrong.status == "error"
        assert wrong.error is not None and "certificate verify failed" in wrong.error
        assert sni == ["a.example", "b.example", "c.example"]
        assert [s.host.split(":")[0] for s in server.seen] == [
            "a.example",
            "b.example",
            "a.example",
        ]
        connections = {s.connection for s in server.seen}
        assert len(connections) == 2  # a's connection kept alive, b got its own


# --- 1. content codings and decompression bombs -------------------------------------


@functools.cache
def zeros_bomb(coding: str, size: int) -> bytes:
    """`size` zero bytes (a multiple of 1 MiB), gzip- or deflate-encoded, built in a blink.

    Compressing 2 GiB takes seconds; but after a full flush the compressor starts afresh,
    so every further MiB compresses to the same block, which is simply repeated. The
    trailer (CRC-32 / Adler-32 and size) is the real one: a valid stream.
    """
    wbits = {"gzip": 31, "deflate": 15}[coding]
    block = bytes(MiB)
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    head = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    repeated = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH) == repeated
    final_empty_block = b"\x03\x00"  # BFINAL, fixed Huffman, end of block
    if coding == "gzip":
        crc = 0
        for _ in range(size // MiB):
            crc = zlib.crc32(block, crc)
        trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    else:
        trailer = struct.pack(">I", (size % 65521) << 16 | 1)  # Adler-32 of zeros
    return head + repeated * (size // MiB - 1) + final_empty_block + trailer


def test_the_bomb_builder_makes_valid_streams() -> None:
    assert gzip.decompress(zeros_bomb("gzip", 8 * MiB)) == bytes(8 * MiB)
    assert zlib.decompress(zeros_bomb("deflate", 8 * MiB)) == bytes(8 * MiB)


async def measured(work: Awaitable[T]) -> tuple[T, int, float]:
    """Run `work`; return its result, the peak of memory it allocated, and the longest
    stretch for which the event loop could not run anything else (seconds)."""
    async with watching_the_loop(0.005) as watch:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            result = await work
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
    return result, peak, watch.longest


LIMIT_MEMORY = 100 * MiB
LIMIT_GAP = 0.100
GiB2 = 2048 * MiB


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_2_gib_bomb_stops_at_the_cap_quickly_and_small(
    server: Server, plain: httpx.AsyncClient, coding: str
) -> None:
    bomb = zeros_bomb(coding, GiB2)
    assert len(bomb) < 2_200_000  # about 1 KB a MiB
    server.replies["/bomb"] = Reply(bomb, {"Content-Encoding": coding}, chunked=True)
    result, peak, gap = await measured(fetch(plain, server.url("/bomb"), allow_private=True))
    print(f"{coding} bomb 2 GiB: peak {peak / MiB:.1f} MiB, longest loop stall {gap * 1000:.1f} ms")
    assert result.status == "error"
    assert result.error == f"body over 2000000 bytes once {coding}-decoded"
    assert peak < LIMIT_MEMORY
    assert gap < LIMIT_GAP


@pytest.mark.parametrize("codings", ["gzip, gzip", "gzip, deflate", "deflate,gzip", "gzip,br"])
async def test_stacked_encodings_are_refused_unread(
    server: Server, plain: httpx.AsyncClient, codings: str
) -> None:
    # E.g. gzip over gzip over 2 GiB of zeros: a few KB on the wire. Codings are listed
    # in the order they were applied, so the last one is the outer layer.
    first, last = (c.strip() for c in codings.split(","))
    inner = zeros_bomb(first, GiB2)
    bomb = zlib.compress(inner) if last == "deflate" else gzip.compress(inner)
    assert len(bomb) < 100_000
    server.replies["/stacked"] = Reply(bomb, {"Content-Encoding": codings})
    result, peak, gap = await measured(fetch(plain, server.url("/stacked"), allow_private=True))
    print(f"stacked {codings}: peak {peak / MiB:.1f} MiB, longest loop stall {gap * 1000:.1f} ms")
    named = ", ".join(c.strip() for c in codings.split(","))
    assert result.status == "error"
    assert result.error == f"refused: stacked content encodings ({named}), one at most"
    assert peak < LIMIT_MEMORY
    assert gap < LIMIT_GAP


async def test_stacked_encodings_in_separate_headers_are_refused() -> None:
    async def two_headers(request: web.Request) -> web.StreamResponse:
        response = web.Response(body=gzip.compress(gzip.compress(FEED)))
        response.headers.add("Content-Encoding", "gzip")
        response.headers.add("Content-Encoding", "gzip")
        return response

    app = web.Application()
    app.router.add_get("/feed", two_headers)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            result = await fetch(client, f"http://127.0.0.1:{port}/feed", allow_private=True)
    finally:
        await runner.cleanup()
    assert result.error == "refused: stacked content encodings (gzip, gzip), one at most"


@pytest.mark.parametrize(
    "coding", ["zstd", "compress", "x-compress", "exi", "pack200-gzip", "gzip2"]
)
async def test_unknown_encodings_are_refused(
    server: Server, plain: httpx.AsyncClient, coding: str
) -> None:
    server.replies["/odd"] = Reply(FEED, {"Content-Encoding": coding})
    result = await fetch(plain, server.url("/odd"), allow_private=True)
    assert result.status == "error"
    assert result.error == f"refused: unsupported content encoding {coding!r}"


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("GZIP", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),  # what some servers send for "deflate"
        ("identity", lambda body: body),
        ("identity, gzip", gzip.compress),
        ("", lambda body: body),
    ],
)
async def test_ordinary_encodings_still_work(
    server: Server, plain: httpx.AsyncClient, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = FEED * 200
    for chunked in (False, True):
        server.replies["/feed"] = Reply(encode(body), {"Content-Encoding": coding}, chunked)
        result = await fetch(plain, server.url("/feed"), allow_private=True)
        assert result.status == "ok", result.error
        assert result.body == body


async def test_the_offered_encodings_are_the_decodable_ones(
    server: Server, plain: httpx.AsyncClient
) -> None:
    dns = FakeDNS({"feed.example": [["127.0.0.1"]]})
    await fetch(plain, server.url("/feed"), allow_private=True)
    async with feed_client(user_agent="t", allow_private=True, resolver=dns) as client:
        await client.get(f"http://feed.example:{server.port}/feed")
    assert ", ".join(SUPPORTED_CODINGS) == ACCEPT_ENCODING
    assert "zstd" not in ACCEPT_ENCODING
    assert [s.accept_encoding for s in server.seen] == [ACCEPT_ENCODING] * 2


async def test_compressed_bytes_are_capped_too(server: Server, plain: httpx.AsyncClient) -> None:
    # Empty deflate blocks: endless bytes on the wire that decode to nothing at all.
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = packer.compress(b"") + packer.flush(zlib.Z_FULL_FLUSH)  # byte-aligned after
    empty = b"\x00\x00\x00\xff\xff"  # a stored block of length 0, not the last one
    server.replies["/empty"] = Reply(head + empty * 40_000, {"Content-Encoding": "gzip"}, True)
    result = await fetch(plain, server.url("/empty"), allow_private=True, max_bytes=10_000)
    assert result.status == "error"
    assert result.error == "gzip body over 11180 bytes"  # 10 000 + 1/64 + 1 KB of framing

    # A declared length over the cap is refused before any byte of the body is read.
    server.replies["/declared"] = Reply(head + empty * 40_000, {"Content-Encoding": "gzip"})
    result = await fetch(plain, server.url("/declared"), allow_private=True, max_bytes=10_000)
    assert result.error == "gzip body over 11180 bytes"


async def test_a_corrupt_body_is_an_error(server: Server, plain: httpx.AsyncClient) -> None:
    # A gzip header, then a deflate block of the reserved type 3.
    corrupt = gzip.compress(b"")[:10] + b"\xff" * 100
    server.replies["/bad"] = Reply(corrupt, {"Content-Encoding": "gzip"})
    result = await fetch(plain, server.url("/bad"), allow_private=True)
    assert result.status == "error"
    assert result.error is not None and result.error.startswith("invalid gzip body")


async def test_a_body_just_under_the_cap_decodes(server: Server, plain: httpx.AsyncClient) -> None:
    body = bytes(range(256)) * 40  # 10 240 bytes
    server.replies["/exact"] = Reply(gzip.compress(body), {"Content-Encoding": "gzip"}, True)
    exact = await fetch(plain, server.url("/exact"), allow_private=True, max_bytes=len(body))
    assert exact.status == "ok" and exact.body == body
    over = await fetch(plain, server.url("/exact"), allow_private=True, max_bytes=len(body) - 1)
    assert over.error == f"body over {len(body) - 1} bytes once gzip-decoded"


async def test_brotli_bomb_is_bounded_too(server: Server, plain: httpx.AsyncClient) -> None:
    # brotli >= 1.2 is a dependency: br is always offered, so it must be bounded too.
    assert "br" in SUPPORTED_CODINGS
    import brotli

    body = FEED * 100
    server.replies["/br"] = Reply(brotli.compress(body), {"Content-Encoding": "br"}, True)
    ok = await fetch(plain, server.url("/br"), allow_private=True)
    assert ok.status == "ok" and ok.body == body

    packer = brotli.Compressor(quality=5)
    block = bytes(MiB)
    bomb = b"".join(packer.process(block) for _ in range(256)) + packer.finish()  # 256 MiB
    server.replies["/br-bomb"] = Reply(bomb, {"Content-Encoding": "br"}, True)
    result, peak, gap = await measured(fetch(plain, server.url("/br-bomb"), allow_private=True))
    print(f"br bomb 256 MiB: peak {peak / MiB:.1f} MiB, longest loop stall {gap * 1000:.1f} ms")
    assert result.error == "body over 2000000 bytes once br-decoded"
    assert peak < LIMIT_MEMORY and gap < LIMIT_GAP
