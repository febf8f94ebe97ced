"""GET /items/<key>/chart.svg and .png (SPEC §8): the picture /timeline view:chart sends.

Shared data only (no guild's own events); English unless ``?lang=ko``.
"""

from __future__ import annotations

import logging
from typing import Literal

from aiohttp import web

from services.charts import timeline_chart
from services.context import Services

log = logging.getLogger(__name__)

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# The picture changes at most once a minute (its "today") or when an event is recorded.
CACHE_CONTROL = "public, max-age=60"
LANGUAGES = frozenset({"en", "ko"})


def add_chart_routes(app: web.Application, *, services: Services) -> None:
    async def chart(request: web.Request, fmt: Literal["png", "svg"]) -> web.Response:
        item = services.tracker.item(request.match_info["key"])
        if item is None:
            raise web.HTTPNotFound(text="No such item.")
        language = request.query.get("lang", "en")
        if language not in LANGUAGES:
            language = "en"
        body = await timeline_chart(
            services,
            guild_id=None,
            item=item,
            language=language,
            fmt=fmt,
            now=services.clock(),
        )
        return web.Response(
            body=body,
            content_type=CONTENT_TYPES[fmt],
            headers={
                "Cache-Control": CACHE_CONTROL,
                "X-Content-Type-Options": "nosniff",
                "Content-Language": language,
            },
        )

    async def svg(request: web.Request) -> web.Response:
        return await chart(request, "svg")

    async def png(request: web.Request) -> web.Response:
        return await chart(request, "png")

    app.router.add_get("/items/{key}/chart.svg", svg)
    app.router.add_get("/items/{key}/chart.png", png)
