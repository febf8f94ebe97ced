"""A new National Assembly motion offered to a guild (SPEC §9), as its post shows it.

Stored as JSON with its offer (an announcement of kind "offer") and read back to post it,
possibly by a later process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from views.changes import UnreadablePayload


@dataclass(frozen=True, slots=True)
class OfferView:
    bill_no: str
    name: str
    proposed_on: date | None
    link_url: str | None


def offer_payload(offer: OfferView) -> dict[str, Any]:
    return {
        "bill_no": offer.bill_no,
        "name": offer.name,
        "proposed_on": offer.proposed_on.isoformat() if offer.proposed_on else None,
        "link_url": offer.link_url,
    }


def offer_from_payload(payload: Mapping[str, Any]) -> OfferView:
    try:
        bill_no, name = payload["bill_no"], payload["name"]
        proposed, link = payload.get("proposed_on"), payload.get("link_url")
        if not isinstance(bill_no, str) or not isinstance(name, str):
            raise UnreadablePayload("an offer without its bill")
        return OfferView(
            bill_no=bill_no,
            name=name,
            proposed_on=date.fromisoformat(proposed) if isinstance(proposed, str) else None,
            link_url=link if isinstance(link, str) else None,
        )
    except (KeyError, ValueError) as exc:
        raise UnreadablePayload(f"unreadable offer: {exc}") from exc
