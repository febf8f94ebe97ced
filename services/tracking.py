"""An item's state for one guild: its visible events read through its rule set.

The one status function: /status (and everything built on it) and ``bot.py --check``
both come here, so the two can never disagree about an item.
"""

from __future__ import annotations

from datetime import datetime

from services.readcache import ReadCache
from tracker.items import ItemSpec
from views.status import ItemStatus


async def item_status(
    reads: ReadCache, *, spec: ItemSpec, item_id: int, guild_id: int | None, now: datetime
) -> ItemStatus:
    inputs = await reads.status_inputs(item_id=item_id, guild_id=guild_id)
    latest = inputs.latest
    if latest is not None and latest.occurred_at > now:
        # Only a scheduled (future) event is newer than now; then ask the store.
        latest = await reads.latest_before(item_id=item_id, guild_id=guild_id, before=now)
    assessment = reads.assessment(scope=(item_id, guild_id), spec=spec, inputs=inputs, now=now)
    return ItemStatus(spec, assessment, latest, inputs.count)
