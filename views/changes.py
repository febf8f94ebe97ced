"""What a moderator's update changed: the event, and what the rules read before and after.

A change is announced from the store, possibly by a later process (services/announcements.py),
so it is also written as JSON (``to_payload``) in the change's own transaction and read
back (``from_payload``) to render the announcement. The payload keeps what the announcement
shows; an assessment's facts and ``valid_until`` are not shown and not kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from tracker.items import ItemSpec
from tracker.lookup import resolve_item
from tracker.model import Assessment, Deadline
from views.events import EventView

PAYLOAD_VERSION = 1
# The actor of a change the bot recorded from an official record (no member made it).
OFFICIAL_ACTOR_ID = 0


@dataclass(frozen=True, slots=True)
class Change:
    action: str  # "added", "edited" or "removed"
    spec: ItemSpec
    event: EventView
    actor_id: int
    before: Assessment
    after: Assessment
    changed_fields: tuple[str, ...] = field(default=())
    # The announcement recorded with the change; None when the guild has no updates channel.
    announcement_id: int | None = None

    @property
    def stage_change(self) -> tuple[str | None, str | None] | None:
        if (self.before.stage, self.before.derived) == (self.after.stage, self.after.derived):
            return None
        return self.before.stage, self.after.stage

    @property
    def moved(self) -> list[tuple[Deadline, Deadline]]:
        old = {d.key: d for d in self.before.deadlines}
        return [
            (old[d.key], d) for d in self.after.deadlines if d.key in old and old[d.key].at != d.at
        ]

    @property
    def appeared(self) -> list[Deadline]:
        old = {d.key for d in self.before.deadlines}
        return [d for d in self.after.deadlines if d.key not in old]

    @property
    def gone(self) -> list[Deadline]:
        new = {d.key for d in self.after.deadlines}
        return [d for d in self.before.deadlines if d.key not in new]


class UnreadablePayload(ValueError):
    """A stored change that cannot be read back (an item no longer tracked, a bad shape)."""


def _moment(value: datetime | None) -> str | None:
    # One zone for every stored moment: a payload reads the same on any back end.
    return None if value is None else value.astimezone(UTC).isoformat()


def _read_moment(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise UnreadablePayload(f"moment without a zone: {value!r}")
    return moment


def _deadline(d: Deadline) -> dict[str, Any]:
    return {"key": d.key, "kind": d.kind, "at": _moment(d.at), "effect_at": _moment(d.effect_at)}


def _assessment(a: Assessment) -> dict[str, Any]:
    return {
        "stage": a.stage,
        "since": _moment(a.since),
        "derived": a.derived,
        "deadlines": [_deadline(d) for d in a.deadlines],
    }


def _event(e: EventView) -> dict[str, Any]:
    return {
        f.name: _moment(v) if isinstance(v := getattr(e, f.name), datetime) else v
        for f in fields(EventView)
    }


def to_payload(change: Change) -> dict[str, Any]:
    """``change`` as JSON-ready data: what rendering its announcement needs, and no more."""
    return {
        "v": PAYLOAD_VERSION,
        "action": change.action,
        "item": change.spec.key,
        "event": _event(change.event),
        "actor_id": change.actor_id,
        "before": _assessment(change.before),
        "after": _assessment(change.after),
        "changed_fields": list(change.changed_fields),
    }


def _read_deadline(data: Mapping[str, Any]) -> Deadline:
    at = _read_moment(data["at"])
    if at is None:
        raise UnreadablePayload("a deadline without its time")
    return Deadline(str(data["key"]), str(data["kind"]), at, _read_moment(data.get("effect_at")))


def _read_assessment(data: Mapping[str, Any]) -> Assessment:
    return Assessment(
        stage=data["stage"],
        since=_read_moment(data["since"]),
        derived=bool(data["derived"]),
        deadlines=tuple(_read_deadline(d) for d in data["deadlines"]),
    )


def _read_event(data: Mapping[str, Any]) -> EventView:
    occurred_at = _read_moment(data["occurred_at"])
    if occurred_at is None:
        raise UnreadablePayload("an event without its time")
    return EventView(**{**data, "occurred_at": occurred_at})


def from_payload(data: Mapping[str, Any], items: Sequence[ItemSpec]) -> Change:
    """The change ``to_payload`` wrote, its item found again among ``items``.

    Raises UnreadablePayload when it cannot be read: its item is no longer tracked, or it
    is not a payload this version wrote.
    """
    try:
        if data.get("v") != PAYLOAD_VERSION:
            raise UnreadablePayload(f"payload version {data.get('v')!r}")
        spec = resolve_item(items, str(data["item"]))
        if spec is None or spec.key != data["item"]:
            raise UnreadablePayload(f"item {data['item']!r} is no longer tracked")
        return Change(
            action=str(data["action"]),
            spec=spec,
            event=_read_event(data["event"]),
            actor_id=int(data["actor_id"]),
            before=_read_assessment(data["before"]),
            after=_read_assessment(data["after"]),
            changed_fields=tuple(str(f) for f in data["changed_fields"]),
        )
    except UnreadablePayload:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadablePayload(f"{type(exc).__name__}: {exc}") from exc
