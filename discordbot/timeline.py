"""A /timeline page as sent, kept with the item's other reads until the item changes.

A page depends on no clock, only on the item's events and the reader's language, so
the rendered reply is remembered in the read cache (services/readcache.py), which
forgets it with everything else read of the item when one of its events changes.
"""

from __future__ import annotations

from render.common import Reply
from render.timeline import render_timeline
from services.context import Services
from services.reading import timeline_page
from tracker.items import ItemSpec


async def timeline_reply(
    services: Services,
    *,
    guild_id: int | None,
    item: ItemSpec,
    page: int,
    language: str,
    clamp: bool = False,
) -> Reply:
    item_id = services.item_ids[item.key]
    key = (item_id, guild_id, "timeline", page, language, clamp)
    cached = services.reads.recall(key)
    if isinstance(cached, Reply):
        return cached
    generation = services.reads.generation
    shown = await timeline_page(services, guild_id=guild_id, item=item, page=page, clamp=clamp)
    reply = render_timeline(language, item, shown.events, page=shown.page, total=shown.total)
    services.reads.remember(key, reply, generation=generation)
    return reply
