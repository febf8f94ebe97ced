"""What a platform's health check asks (SPEC §8 /healthz): is the database there, news flowing."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from services.context import Services
from storage.queries.news import last_poll_at

log = logging.getLogger(__name__)

# A database that does not answer within this long is as good as gone for a health check,
# which platforms time out after a few seconds themselves.
DATABASE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Health:
    database: bool
    # Any process's last news poll, from the store: a web-only process polls nothing itself.
    last_poll: datetime | None


async def health(services: Services) -> Health:
    async def read() -> datetime | None:
        async with services.sessions() as session:
            return await last_poll_at(session)

    try:
        last = await asyncio.wait_for(read(), DATABASE_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure to read means "not reachable", and is logged
        log.warning("health check: database unreachable: %s", exc.__class__.__name__)
        log.debug("health check failure", exc_info=exc)
        return Health(database=False, last_poll=None)
    return Health(database=True, last_poll=last)
