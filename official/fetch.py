"""Asking the Open API for bills: every page of a listing, on the shared httpx client.

Failures come back as ApiError with a code (the service's, or HTTP-<status>, TIMEOUT,
NETWORK, MALFORMED, TOO-BIG) and a message that never carries the key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from news.ssrf import UnsafeURL
from official.bills import DISMISSAL, Bill, bill_from_row, is_dismissal_motion
from official.keyguard import guard_logs, redact
from official.records import ApiError, read_page

log = logging.getLogger(__name__)

# The listing that carries every stage's date and the result (na-open-api.md).
LISTING = "ALLBILLV2"
# One bill by its number: for a linked bill the listing's name filter missed.
ONE_BILL = "ALLBILL"
# The 22nd Assembly (2024-2028); ALLBILLV2 requires the era.
ERA = "제22대"
PAGE_SIZE = 100
# A listing of dismissal motions is short: more pages than this is a service gone wrong.
MAX_PAGES = 20
TIMEOUT_SECONDS = 15.0
BODY_LIMIT = 4 * 1024 * 1024
# Some firewalls in front of the service refuse a library's default User-Agent.
USER_AGENT = "motionwatch (+https://github.com/motionwatch) official-record poller"


@dataclass(frozen=True, slots=True)
class OfficialApi:
    base: str
    key: str
    page_size: int = PAGE_SIZE
    max_pages: int = MAX_PAGES
    timeout: float = TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        guard_logs(self.key)

    def __repr__(self) -> str:  # a dataclass repr would print the key
        return f"OfficialApi(base={self.base!r})"


async def _get(
    client: httpx.AsyncClient, api: OfficialApi, service: str, params: Mapping[str, str | int]
) -> bytes:
    query: dict[str, str | int] = {"KEY": api.key, "Type": "json", **params}
    try:
        async with asyncio.timeout(api.timeout):
            async with client.stream(
                "GET",
                f"{api.base}/{service}",
                params=query,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                follow_redirects=False,
            ) as response:
                if response.status_code != 200:
                    raise ApiError(f"HTTP-{response.status_code}", "the service answered an error")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > BODY_LIMIT:
                        raise ApiError("TOO-BIG", f"an answer over {BODY_LIMIT} bytes")
                return bytes(body)
    except TimeoutError:
        raise ApiError("TIMEOUT", f"no answer within {api.timeout:g} s") from None
    except UnsafeURL as exc:
        # The shared client's guard refused the address (a private one without
        # ALLOW_PRIVATE_SOURCES): a failure of the source like any other.
        raise ApiError("REFUSED", redact(str(exc), api.key) or "address refused") from None
    except (httpx.HTTPError, OSError) as exc:
        # httpx may quote the request's URL, which carries the key.
        detail = redact(str(exc), api.key) or "no detail"
        raise ApiError("NETWORK", f"{type(exc).__name__}: {detail}") from None


async def fetch_rows(
    client: httpx.AsyncClient,
    api: OfficialApi,
    service: str,
    params: Mapping[str, str | int],
) -> list[Mapping[str, object]]:
    """Every row of a listing, page by page; [] when the service has none (INFO-200)."""
    rows: list[Mapping[str, object]] = []
    for index in range(1, api.max_pages + 1):
        body = await _get(client, api, service, {**params, "pIndex": index, "pSize": api.page_size})
        page = read_page(service, body)
        log.debug("%s page %d: %d rows of %d", service, index, len(page.rows), page.total)
        rows.extend(page.rows)
        if not page.rows or len(rows) >= page.total or len(page.rows) < api.page_size:
            return rows
    raise ApiError("TOO-MANY-PAGES", f"more than {api.max_pages} pages of {service}")


async def fetch_dismissal_motions(client: httpx.AsyncClient, api: OfficialApi) -> list[Bill]:
    """The era's bills named as dismissal motions (the name filter is the service's; the
    check of the name, spaces ignored, is ours)."""
    rows = await fetch_rows(client, api, LISTING, {"ERACO": ERA, "BILL_NM": DISMISSAL})
    return [b for r in rows if (b := bill_from_row(r)) is not None and is_dismissal_motion(b.name)]


async def fetch_bill(client: httpx.AsyncClient, api: OfficialApi, bill_no: str) -> list[Bill]:
    """The record of one bill by its number ([] when the service does not know it)."""
    rows = await fetch_rows(client, api, ONE_BILL, {"BILL_NO": bill_no})
    return [b for r in rows if (b := bill_from_row(r)) is not None and b.bill_no == bill_no]
