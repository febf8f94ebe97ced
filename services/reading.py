"""The read commands' logic: which items, which events, which deadlines, for one guild."""

from __future__ import annotations

from datetime import datetime

from services.context import Services
from services.errors import UserError
from services.items import items_for
from services.tracking import item_status
from storage.queries.deadlines import upcoming_custom_deadlines
from tracker.items import ItemSpec
from tracker.lookup import resolve_item
from tracker.model import Deadline
from views.deadlines import DeadlineRow
from views.paging import PER_PAGE, TimelinePage, page_count
from views.status import ItemStatus


async def pick_item(
    services: Services, value: str | None, *, guild_id: int | None
) -> ItemSpec | None:
    """The item a command names; None means every item. An unknown name is the member's error.

    Only the items ``guild_id`` sees count: another guild's own item is unknown here.
    """
    items = (await items_for(services, guild_id)).specs
    if value is None or not value.strip():
        return None
    item = resolve_item(items, value)
    if item is None:
        raise UserError("error.unknown_item", item=value, known=", ".join(i.key for i in items))
    return item


async def require_item(services: Services, value: str | None, *, guild_id: int | None) -> ItemSpec:
    """Like pick_item, but one item is needed; it may be omitted only when there is one."""
    item = await pick_item(services, value, guild_id=guild_id)
    if item is not None:
        return item
    items = (await items_for(services, guild_id)).specs
    if len(items) == 1:
        return items[0]
    raise UserError("error.item_required", known=", ".join(i.key for i in items))


async def statuses(
    services: Services, *, guild_id: int | None, item: ItemSpec | None, now: datetime
) -> list[ItemStatus]:
    return [
        await item_status(
            services.reads,
            spec=spec,
            item_id=services.item_ids[spec.key],
            guild_id=guild_id,
            now=now,
        )
        for spec in ([item] if item else (await items_for(services, guild_id)).specs)
    ]


async def timeline_page(
    services: Services, *, guild_id: int | None, item: ItemSpec, page: int, clamp: bool = False
) -> TimelinePage:
    """The events of ``page``, with the total they are a page of.

    A page out of range is refused, or with ``clamp`` moved into range (a button
    on an old message, after events were removed).
    """
    item_id = services.item_ids[item.key]
    total = (await services.reads.status_inputs(item_id=item_id, guild_id=guild_id)).count
    pages = page_count(total)
    if clamp:
        page = min(max(page, 1), pages)
    elif not 1 <= page <= pages:
        raise UserError("error.page_range", pages=pages)
    events = await services.reads.page(
        item_id=item_id, guild_id=guild_id, page=page, per_page=PER_PAGE
    )
    return TimelinePage(events, page, total)


async def upcoming_deadlines(
    services: Services, *, guild_id: int | None, item: ItemSpec | None, now: datetime
) -> list[DeadlineRow]:
    chosen = [item] if item else list((await items_for(services, guild_id)).specs)
    rows: list[DeadlineRow] = []
    for status in await statuses(services, guild_id=guild_id, item=item, now=now):
        rows.extend(DeadlineRow(status.spec, d) for d in status.assessment.deadlines if d.at > now)
    if guild_id is not None:
        by_id = {services.item_ids[s.key]: s for s in chosen}
        async with services.sessions() as session:
            customs = await upcoming_custom_deadlines(
                session, guild_id=guild_id, item_ids=by_id, after=now
            )
        for custom in customs:
            deadline = Deadline(f"custom:{custom.id}", "custom", custom.due_at)
            rows.append(DeadlineRow(by_id[custom.item_id], deadline, custom.title, custom.id))
    rows.sort(key=lambda r: r.deadline.at)
    return rows
