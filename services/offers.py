"""New motions in the official record offered to guilds, and "Track it" (SPEC §9).

A dismissal motion the poll sees for the first time is recorded (``official_bill``) and,
in the same transaction, offered to every guild with a news channel that does not follow
it yet: one INSERT .. SELECT of announcements of kind "offer", delivered exactly once by
services/announcements.py. The first poll ever only records what is there, offering
just the motions proposed within FIRST_POLL_HORIZON, so that a new install is not
flooded with the era's old motions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from official.bills import SEOUL, Bill, is_dismissal_motion
from services.context import Services
from services.errors import UserError
from services.track import NAME_LIMIT, track_motion
from storage.engine import writing
from storage.models import OfficialBill
from storage.queries import official as store
from tracker.items import ItemSpec
from views.offers import OfferView, offer_payload

log = logging.getLogger(__name__)

# On the first poll ever, motions proposed longer ago than this are recorded, not offered.
FIRST_POLL_HORIZON = timedelta(days=30)


def worth_offering(bill: Bill, *, first_poll: bool, today: date) -> bool:
    """Whether a motion seen for the first time is offered (the decision, without I/O)."""
    if not is_dismissal_motion(bill.name):
        return False
    if not first_poll:
        return True
    # An unknown proposal date on the first poll: taken for old rather than flood.
    return bill.proposed_on is not None and today - bill.proposed_on <= FIRST_POLL_HORIZON


def offer_of(bill: Bill) -> OfferView:
    return OfferView(bill.bill_no, bill.name, bill.proposed_on, bill.link_url)


async def offer_new_bills(services: Services, bills: Mapping[str, Bill], *, now: datetime) -> int:
    """Record the motions not seen before, offering the new ones; returns offers recorded."""
    motions = {no: b for no, b in bills.items() if is_dismissal_motion(b.name)}
    if not motions:
        return 0
    # A configured item is every guild's: nobody is offered what it follows.
    configured = {s.bill_no for s in services.tracker.items if s.bill_no}
    today = now.astimezone(SEOUL).date()
    offers = 0
    async with writing(services.sessions) as session:
        first_poll = not await store.any_bill_seen(session)
        seen = await store.bills_seen(session, bill_nos=list(motions))
        for bill_no, bill in sorted(motions.items()):
            if bill_no in seen:
                continue
            offer = bill_no not in configured and worth_offering(
                bill, first_poll=first_poll, today=today
            )
            row = OfficialBill(
                bill_no=bill_no,
                name=bill.name[:300],
                proposed_on=bill.proposed_on,
                link_url=bill.link_url,
                first_seen_at=now,
                offered=offer,
            )
            if await store.add_bill(session, bill=row) and offer:
                offers += await store.record_offers(
                    session, bill_no=bill_no, payload=offer_payload(offer_of(bill)), now=now
                )
        await session.commit()
    if offers:
        log.info("official record: %d offers of new motions recorded", offers)
    return offers


async def track_offered(
    services: Services, *, guild_id: int, actor_id: int, bill_no: str, now: datetime
) -> tuple[ItemSpec, OfferView]:
    """ "Track it": the guild's own motion item, named as the bill and linked to it; with
    the offer as its post shows it.

    Raises UserError ``track.bill_taken`` when the guild follows the bill already.
    """
    async with services.sessions() as session:
        bill = await store.get_bill(session, bill_no=bill_no)
    if bill is None:
        raise UserError("offer.unknown", bill_no=bill_no)
    name = bill.name[:NAME_LIMIT]
    spec = await track_motion(
        services,
        guild_id=guild_id,
        actor_id=actor_id,
        name=name,
        name_ko=name,
        bill_no=bill.bill_no,
        keywords=None,
        now=now,
    )
    return spec, OfferView(bill.bill_no, bill.name, bill.proposed_on, bill.link_url)
