"""/track motion and /track stop: a guild starts and stops following a motion of its own.

The one change path: checked input, one writing transaction with its audit entry, and
``Services.changed`` so that every process forgets the guild's list of items.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from services import validation as check
from services.context import Services
from services.errors import UserError
from services.items import MOTION_RULE_SET, items_for, items_scope, slug_of, spec_of
from storage.engine import writing
from storage.notify import Scope
from storage.queries.audit import record_audit
from storage.queries.items import (
    add_guild_item,
    guild_follows_bill,
    guild_item_by_key,
    hide_item,
    lock_guild_items,
)
from tracker.items import ItemSpec
from tracker.lookup import resolve_item
from tracker.rules import get_rule_set

log = logging.getLogger(__name__)

NAME_LIMIT = 100
KEYWORD_LIMIT = 100
KEYWORDS_MAX = 20
# National Assembly bill numbers (의안번호) are digits, seven today.
_BILL_NO = re.compile(r"^[0-9]{1,20}$")


def _keywords(value: str | None) -> list[str]:
    """Comma-separated keywords, trimmed, duplicates dropped, each bounded."""
    if value is None:
        return []
    check.clean("keywords", value)
    words = list(dict.fromkeys(w.strip() for w in value.split(",") if w.strip()))
    if len(words) > KEYWORDS_MAX:
        raise UserError("track.too_many_keywords", field="keywords", limit=KEYWORDS_MAX)
    for word in words:
        if len(word) > KEYWORD_LIMIT:
            raise UserError(
                "invalid.too_long", field="keywords", limit=KEYWORD_LIMIT, length=len(word)
            )
    return words


def _bill_no(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _BILL_NO.match(value):
        raise UserError("track.bad_bill_no", field="bill_no")
    return value


async def track_motion(
    services: Services,
    *,
    guild_id: int,
    actor_id: int,
    name: str,
    name_ko: str | None,
    bill_no: str | None,
    keywords: str | None,
    now: datetime,
) -> ItemSpec:
    """A new motion item of ``guild_id``'s own (rule set ``kr-assembly-dismissal``)."""
    name = check.text("name", name, NAME_LIMIT)
    korean = check.text("name_ko", name_ko, NAME_LIMIT) if name_ko is not None else None
    bill = _bill_no(bill_no)
    words = _keywords(keywords)
    seen = await items_for(services, guild_id)
    # The bill first: "Track it" on a bill the guild follows is told so, not a name clash.
    if bill is not None and seen.by_bill_no(bill) is not None:
        raise UserError("track.bill_taken", field="bill_no", bill_no=bill)
    for value, field in ((name, "name"), (korean, "name_ko")):
        if value is not None and resolve_item(seen.specs, value) is not None:
            raise UserError("track.name_taken", field=field, name=value)
    async with writing(services.sessions) as session:
        # Again inside the unit of work: two moderators clicking "Track it" at once (or
        # a /track beside it) both passed the check above on the same cached list.
        await lock_guild_items(session, guild_id=guild_id)
        if bill is not None and await guild_follows_bill(session, guild_id=guild_id, bill_no=bill):
            raise UserError("track.bill_taken", field="bill_no", bill_no=bill)
        row = await add_guild_item(
            session,
            guild_id=guild_id,
            slug=slug_of(name),
            kind=get_rule_set(MOTION_RULE_SET).kind,
            rule_set=MOTION_RULE_SET,
            name_en=name,
            name_ko=korean,
            bill_no=bill,
            keywords=words,
            created_by=actor_id,
            now=now,
        )
        after = {"name_en": name, "name_ko": korean, "bill_no": bill, "keywords": words}
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="track",
            target_type="item",
            target_id=row.key,
            before=None,
            after={"key": row.key, **after},
            at=now,
        )
        await services.changed(session, items_scope(guild_id))
        await session.commit()
        spec = spec_of(row)
    log.info("guild %s tracks its own item %s", guild_id, spec.key)
    return spec


async def stop_tracking(
    services: Services, *, guild_id: int, actor_id: int, item: str, now: datetime
) -> ItemSpec:
    """Hide one of ``guild_id``'s own items (a configured one cannot be stopped here)."""
    seen = await items_for(services, guild_id)
    spec = resolve_item(seen.specs, item)
    if spec is None:
        raise UserError("error.unknown_item", item=item, known=", ".join(s.key for s in seen.specs))
    if not seen.is_own(spec):
        raise UserError("track.not_own", field="item", item=spec.key)
    async with writing(services.sessions) as session:
        row = await guild_item_by_key(session, guild_id=guild_id, key=spec.key)
        if row is None or row.hidden_at is not None or row.id is None:
            raise UserError("error.unknown_item", item=item, known="")
        await hide_item(session, item=row, actor_id=actor_id, now=now)
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="track_stop",
            target_type="item",
            target_id=spec.key,
            before={"hidden_at": None},
            after={"hidden_at": now.isoformat()},
            at=now,
        )
        await services.changed(session, items_scope(guild_id), Scope.item(row.id, guild_id))
        await session.commit()
    log.info("guild %s stopped tracking its item %s", guild_id, spec.key)
    return spec
