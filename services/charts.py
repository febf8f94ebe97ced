"""The chart of an item's whole life (/timeline view:chart, /items/<key>/chart.png and .svg).

The data comes through the same reads as /status, /timeline and /deadlines (so
the same caches), every page of the timeline; ``charts`` decides and paints.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

from charts.draw import render
from charts.plan import chart_plan
from services.context import Services
from services.reading import statuses, timeline_page, upcoming_deadlines
from tracker.items import ItemSpec
from tracker.timeutil import ensure_utc
from views.events import EventView
from views.paging import page_count

# A bound on what one chart reads: far above any real history (GSOMIA has ~40 events).
MAX_PAGES = 500


async def timeline_chart(
    services: Services,
    *,
    guild_id: int | None,
    item: ItemSpec,
    language: str,
    fmt: Literal["png", "svg"],
    now: datetime,
) -> bytes:
    """The chart as PNG or SVG bytes, as of ``now`` (to the minute)."""
    # To the minute: the picture cannot show less, and the render cache (charts.draw.render,
    # keyed by the whole plan) then serves every request of that minute on unchanged data.
    now = ensure_utc(now).replace(second=0, microsecond=0)
    (status,) = await statuses(services, guild_id=guild_id, item=item, now=now)
    events: list[EventView] = []
    page, pages = 1, 1
    while page <= min(pages, MAX_PAGES):
        shown = await timeline_page(services, guild_id=guild_id, item=item, page=page, clamp=True)
        events.extend(shown.events)
        pages = page_count(shown.total)
        page += 1
    deadlines = await upcoming_deadlines(services, guild_id=guild_id, item=item, now=now)
    plan = chart_plan(
        item,
        assessment=status.assessment,
        events=events,
        deadlines=deadlines,
        language=language,
        now=now,
    )
    # Agg is C++ but the figure is built in Python: ~0.1-0.3 s, over a second the first
    # time (imports, font). A thread keeps the event loop answering meanwhile, with no
    # pickling and the cache shared by every request; the news parser's process pool is
    # left to the feeds so a chart never queues behind a poll.
    return await asyncio.to_thread(render, plan, fmt)
