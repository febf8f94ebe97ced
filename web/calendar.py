"""GET /calendar/{secret}.ics: one guild's deadlines as a feed calendar apps subscribe to."""

from __future__ import annotations

import logging

from aiohttp import web

from exporting.ics import build_calendar
from services.calendar import guild_for_secret, guild_language, reconcile
from services.context import Services

log = logging.getLogger(__name__)

CALENDAR_TYPE = "text/calendar"


def add_calendar_routes(app: web.Application, *, services: Services) -> None:
    async def calendar(request: web.Request) -> web.Response:
        guild_id = await guild_for_secret(services, request.match_info["secret"])
        if guild_id is None:
            # One answer for a malformed, unknown or rotated secret: nothing to tell them apart.
            return web.Response(status=404, text="Not found\n")
        now = services.clock()
        entries = await reconcile(services, guild_id=guild_id, now=now)
        body = build_calendar(entries, language=await guild_language(services, guild_id))
        return web.Response(
            body=body,
            content_type=CALENDAR_TYPE,
            charset="utf-8",
            # The link is the credential: keep it and the feed out of shared caches.
            headers={"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer"},
        )

    app.router.add_get("/calendar/{secret}.ics", calendar)
