"""The HTTP client for feeds: it connects only to addresses the SSRF guard has just checked.

`check_url` alone cannot stop DNS rebinding: it resolves the host, then the HTTP library
resolves it again to connect, and a name may answer a public address the first time and
127.0.0.1 the second. So the check is moved to where the connection is made.

Design (why a network backend, not a URL rewrite):

- `GuardedNetworkBackend.connect_tcp(host, port)` is what httpcore calls for every NEW
  connection, redirects included, since fetch_feed follows them hop by hop. It resolves
  the name once with the injectable `Resolver`, refuses it if ANY address breaks the
  `news.ssrf` rules, and connects to those checked IP addresses only: nothing resolves
  the name a second time.
- httpcore still knows the connection by its origin (scheme, host NAME, port). So TLS is
  started with the host name (SNI, and the certificate verified against that name), the
  Host header is the name, and the pool only ever hands a connection to requests for the
  same origin: a connection made (and TLS-verified) for host A never carries a request
  for host B, even when both names resolve to the same address.
- A kept-alive connection is therefore one that was checked when it was made, and stays
  connected to that checked address; a rebinding of the name cannot redirect it. New
  connections are checked again.

Rewriting the URL to the IP instead (and passing the name as Host and SNI) would key the
pool by IP, letting a connection verified for one virtual host serve another.

Refusals raise `news.ssrf.UnsafeURL` (or `HostNotFound`) out of the request, not an
httpx error, so that fetch_feed can say which rule refused the hop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from news.decoding import ACCEPT_ENCODING
from news.ssrf import Resolver, check_addresses, resolve

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects to the checked address: the guard at connect time.

    With `allow_private` the addresses are not judged (for feeds on the bot's own network),
    but the connection still goes to the address resolved here.
    `network` is the backend that really opens sockets (httpcore's AnyIO one by default);
    tests pass one that routes a public address to a server on loopback.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self._resolver = resolver
        self._network = network or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve(host, port, self._resolver)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took over {timeout:g} s") from exc
        if not self.allow_private:
            check_addresses(f"{host}:{port}", addresses)
        failure: Exception | None = None
        # In the resolver's order, each once; the first that answers is kept.
        for address in dict.fromkeys(addresses):
            try:
                logger.debug("connecting to %s (%s) port %d", address, host, port)
                return await self._network.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # resolve() never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool built on `GuardedNetworkBackend`.

    HTTP/1.1 only, no proxy, no environment (a proxy would make the connection, so the
    address checked would not be the one reached).
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | bool = True,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=32)
        ssl_context = (
            verify
            if isinstance(verify, ssl.SSLContext)
            else httpx.create_ssl_context(verify=verify, trust_env=False)
        )
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        self.network_backend = GuardedNetworkBackend(
            allow_private=allow_private, resolver=resolver, network=network
        )
        # The parent's pool (idle: nothing has used it yet) is replaced by the same pool
        # over the guarded backend; everything else in the transport stays httpx's.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=self.network_backend,
        )


def feed_client(
    *,
    user_agent: str,
    allow_private: bool,
    resolver: Resolver | None = None,
    max_connections: int = 32,
    timeout: float = DEFAULT_TIMEOUT,
    verify: ssl.SSLContext | bool = True,
    network: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """The client to give `fetch_feed`: every connection resolved, checked and pinned here.

    `allow_private` must be the same setting fetch_feed is given (ALLOW_PRIVATE_SOURCES).
    Redirects are left to fetch_feed, which checks each hop before following it; no proxy
    or other setting is read from the environment. `resolver`, `verify` and `network` are
    for tests (a fake DNS, a test CA, a simulated network); the defaults are the real ones.
    Use it as an async context manager, like any httpx.AsyncClient.
    """
    transport = GuardedTransport(
        allow_private=allow_private,
        resolver=resolver,
        limits=httpx.Limits(max_connections=max_connections),
        verify=verify,
        network=network,
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
    )
