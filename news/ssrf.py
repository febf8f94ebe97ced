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


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with how it carries it ("inside a
    6to4 address", "as the Teredo client of").

    A packet to any of these forms can end up at the embedded IPv4 host (through a 6to4
    or Teredo relay, a NAT64 gateway or a dual-stack kernel), so a loopback or private
    IPv4 address hidden in them must be refused like the bare one. IPv4-mapped addresses
    are left to `unmap`, which judges them as the IPv4 address itself.
    """
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if address.sixtofour is not None:
        found.append(("inside a 6to4 address", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        found.append(("as the Teredo server of", server))
        # ipaddress already undoes the client's obfuscation (the bits are stored inverted).
        found.append(("as the Teredo client of", client))
    if address in _NAT64:
        found.append(("inside a NAT64 address", low32))
    elif address in _NAT64_LOCAL:
        # The local-use prefix may be any length up to /96; the /96 layout (IPv4 in the
        # last 32 bits) is the common one. Every address here is refused anyway, as
        # reserved, so this only makes the reason name the IPv4 host when it can.
        found.append(("inside a local-use NAT64 address", low32))
    elif address in _IPV4_TRANSLATED:
        found.append(("inside an IPv4-translated address", low32))
    elif address in _IPV4_COMPATIBLE and int(address) > 1:
        # :: and ::1 are the IPv6 unspecified and loopback addresses, judged as such.
        found.append(("inside an IPv4-compatible address", low32))
    return found


def classify(address: IPAddress) -> str | None:
    """Name the rule an address breaks ("a loopback address", ...), or None if it is public.

    Judges the address alone; `refusal` also looks at the IPv4 address an IPv6 one carries.
    """
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


def refusal(address: IPAddress) -> str | None:
    """Say why `address` must not be connected to, naming the rule and the address, or None.

    E.g. "a loopback address 127.0.0.1" (also for ::ffff:127.0.0.1), or "a private address
    10.0.0.1 inside a 6to4 address 2002:a00:1::1".
    """
    address = unmap(address)
    if isinstance(address, ipaddress.IPv6Address):
        # The embedded IPv4 host first: its rule says more than "reserved" or "private"
        # would about the IPv6 form, and a 6to4 address is "global" to ipaddress.
        for how, inner in embedded_ipv4(address):
            rule = classify(inner)
            if rule is not None:
                return f"{rule} {inner} {how} {address}"
        if address.sixtofour is not None:
            # As public as the host it carries. Pythons before 3.11.10 (Debian 12's 3.11.2)
            # list all of 2002::/16 as private, so the wrapper is not judged on its own.
            return None
    rule = classify(address)
    return None if rule is None else f"{rule} {address}"


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

    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    check_addresses(url, await resolve(host, port, resolver))


async def resolve(host: str, port: int, resolver: Resolver | None = None) -> list[IPAddress]:
    """The addresses of `host` (itself if it is an IP literal); HostNotFound if there are none."""
    literal = _parse_ip(host)
    if literal is not None:
        return [literal]
    found = await (resolver or system_resolver)(host, port)
    if not found:
        raise HostNotFound(f"cannot resolve host {host}")
    addresses: list[IPAddress] = []
    for text in found:
        parsed_ip = _parse_ip(text)
        if parsed_ip is None:
            raise UnsafeURL(f"host {host} resolves to an unreadable address {text!r}")
        addresses.append(parsed_ip)
    return addresses


def check_addresses(what: str, addresses: list[IPAddress]) -> None:
    """Raise UnsafeURL if any of `addresses` (those of `what`, for the log) is not public."""
    # ANY bad address refuses: the connection may use whichever one it likes.
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            logger.info("refusing %s: %s", what, reason)
            raise UnsafeURL(f"resolves to {reason}")
