"""Refuse feed URLs that would make the bot reach into its own network (SSRF guard).

A feed URL comes from configuration or from any moderator's `/source add`, so it is
untrusted: without this check it could point at 127.0.0.1, the cloud metadata
service (169.254.169.254) or a database on the private network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable

import httpx

logger = logging.getLogger(__name__)

#: Resolves a host name and port to the IP address strings a connection could use.
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(Exception):
    """The URL must not be fetched; `reason` says which rule refused it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HostNotFound(UnsafeURL):
    """The host did not resolve, so it cannot be checked (nor fetched)."""


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the event loop's getaddrinfo, the same lookup a connection makes."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(f"cannot resolve host {host}") from exc
    # sockaddr[0] is the address; an IPv6 one may carry a "%scope" suffix.
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def unmap(address: IPAddress) -> IPAddress:
    """Return the IPv4 address inside an IPv4-mapped IPv6 one (::ffff:a.b.c.d)."""
    # ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d, and before Python 3.13 the IPv6
    # properties do not look inside it, so it must be judged as that IPv4 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def classify(address: IPAddress) -> str | None:
    """Name the rule an address breaks ("a loopback address", ...), or None if it is public."""
    address = unmap(address)
    # Order matters: the specific rules come before is_private, which covers most of them.
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        # e.g. 100.64.0.0/10 (carrier-grade NAT): not "private" in 3.11 yet not public.
        return "a non-public address"
    return None


def _parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def check_url(url: str, *, allow_private: bool, resolver: Resolver | None = None) -> None:
    """Raise UnsafeURL unless `url` is http(s) with a host whose every address is public.

    With allow_private the scheme and host are still checked but nothing is resolved.
    """
    # Parse with httpx, the library that will make the request, so the host checked
    # here is the host it connects to (no parser differential on odd URLs).
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeURL(f"invalid URL ({exc})") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise UnsafeURL(f"scheme {parsed.scheme or '(none)'!r} is not http or https")
    # raw_host is the IDNA (ASCII) form without IPv6 brackets: what gets resolved.
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise UnsafeURL("the URL has no host")
    if allow_private:
        return

    literal = _parse_ip(host)
    if literal is not None:
        addresses = [literal]
    else:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        found = await (resolver or system_resolver)(host, port)
        if not found:
            raise HostNotFound(f"cannot resolve host {host}")
        addresses = []
        for text in found:
            parsed_ip = _parse_ip(text)
            if parsed_ip is None:
                raise UnsafeURL(f"host {host} resolves to an unreadable address {text!r}")
            addresses.append(parsed_ip)

    # ANY bad address refuses the URL: the connection may use whichever one it likes.
    for address in map(unmap, addresses):
        rule = classify(address)
        if rule is not None:
            logger.info("refusing %s: %s %s", url, rule, address)
            raise UnsafeURL(f"resolves to {rule} {address}")
