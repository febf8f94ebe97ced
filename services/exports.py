"""/export: what goes into the files (exporting/ writes them)."""

from __future__ import annotations

from datetime import datetime

from services.calendar import reconcile, upcoming_only
from services.context import Services
from services.convert import exported_event
from services.items import items_for
from storage.queries.events import guild_timeline
from tracker.items import ItemSpec
from views.calendar import CalendarEntryView
from views.export import ExportedEvent


async def timeline_export(
    services: Services, *, guild_id: int, item: ItemSpec | None
) -> list[ExportedEvent]:
    """Every event the guild's /timeline shows, of ``item`` or of every item, in one query."""
    specs = [item] if item else list((await items_for(services, guild_id)).specs)
    keys = {services.item_ids[s.key]: s.key for s in specs}
    async with services.sessions() as session:
        rows = await guild_timeline(session, item_ids=list(keys), guild_id=guild_id)
    return [exported_event(row, keys[row.item_id]) for row in rows]


async def deadlines_export(
    services: Services, *, guild_id: int, item: ItemSpec | None, now: datetime
) -> list[CalendarEntryView]:
    """The deadlines /deadlines shows, with the UIDs and SEQUENCEs the guild's feed gives."""
    return upcoming_only(await reconcile(services, guild_id=guild_id, now=now), item)
