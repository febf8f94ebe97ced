"""What moderators change: timeline updates and custom deadlines, validated and audited.

Every function checks everything before it stores anything, records who did
what with the before and after in the audit log, and returns what changed. A
timeline change's announcement is recorded in the change's own transaction (when
the guild has an updates channel), so that no crash can keep the one without the
other; it is posted from the store afterwards (services/announcements.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services import validation as check
from services.context import Services
from services.convert import event_view
from services.errors import UserError
from services.items import items_for
from storage.engine import writing
from storage.models import CustomDeadline, TimelineEvent
from storage.notify import Scope
from storage.queries.announcements import record_announcement
from storage.queries.audit import record_audit
from storage.queries.events import (
    get_event,
    list_events,
    save_revision,
    snapshot,
    stage_events,
    to_fact,
)
from tracker.items import ItemSpec
from tracker.model import EventFact, Precision, StageChangeError
from views.changes import Change, to_payload


def _stage_error(exc: StageChangeError, spec: ItemSpec) -> UserError:
    d = exc.details
    if exc.code == "not_a_stage":
        return UserError(
            "invalid.stage_unknown",
            field="stage",
            value=d.get("stage"),
            stages=", ".join(spec.rules.stages),
        )
    if exc.code != "transition":
        # A refusal of the rule set's own: its words are under rules.<name>.invalid.<code>,
        # filled in with the details (times as Discord timestamps).
        values = {
            k: f"<t:{int(v.timestamp())}:F>" if isinstance(v, datetime) else v for k, v in d.items()
        }
        return UserError(spec.rules.words("invalid", exc.code), **values)
    allowed = d.get("allowed") or []
    return UserError(
        "invalid.stage_order",
        stage=d.get("stage"),
        current=d.get("current") or "-",
        allowed=", ".join(str(a) for a in allowed) if allowed else "-",  # type: ignore[attr-defined]
    )


def _validate_history(spec: ItemSpec, facts: list[EventFact]) -> None:
    try:
        spec.validate(facts)
    except StageChangeError as exc:
        raise _stage_error(exc, spec) from None


async def _announced(
    session: AsyncSession, change: Change, *, guild_id: int, now: datetime
) -> Change:
    """Record ``change``'s announcement in the transaction that makes the change."""
    announcement_id = await record_announcement(
        session,
        guild_id=guild_id,
        event_id=change.event.id,
        action=change.action,
        payload=to_payload(change),
        now=now,
    )
    return replace(change, announcement_id=announcement_id)


async def _item_by_id(services: Services, item_id: int, *, guild_id: int) -> ItemSpec:
    """The item ``item_id`` among those ``guild_id`` sees (its own included)."""
    for spec in (await items_for(services, guild_id)).specs:
        if services.item_ids.get(spec.key) == item_id:
            return spec
    raise UserError("invalid.event_unknown", field="event_id", id=item_id)


async def add_update(
    services: Services,
    *,
    guild_id: int,
    actor_id: int,
    item: ItemSpec,
    summary: str,
    stage: str | None,
    when: str | None,
    source_url: str | None,
    source_name: str | None,
    now: datetime,
    news_entry_id: int | None = None,
) -> Change:
    """``news_entry_id``: the news story the event was added from, if any."""
    summary = check.text("summary", summary, check.SUMMARY_LIMIT, multiline=True)
    stage = check.stage("stage", stage, item.rules.stages)
    occurred_at, precision = (
        check.when("when", when, item.timezone) if when else (now, Precision.DATETIME)
    )
    source_url = check.url("source_url", source_url)
    source_name = check.optional_text("source_name", source_name, check.SOURCE_NAME_LIMIT)
    if source_name and not source_url:
        raise UserError("invalid.name_without_url")
    item_id = services.item_ids[item.key]
    async with writing(services.sessions) as session:
        # Only stage changes move the rules: the rest of the history is not read.
        events = await stage_events(session, item_id=item_id, guild_id=guild_id)
        facts = [to_fact(e) for e in events]
        new_fact = EventFact(occurred_at, stage, precision, order=2**62)
        _validate_history(item, [*facts, new_fact])
        event = TimelineEvent(
            item_id=item_id,
            guild_id=guild_id,
            occurred_at=occurred_at,
            precision=str(precision),
            summary_en=summary,
            stage=stage,
            source_name=source_name,
            source_url=source_url,
            recorded_by=actor_id,
            recorded_at=now,
            news_entry_id=news_entry_id,
        )
        session.add(event)
        await session.flush()
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="event.add",
            target_type="event",
            target_id=str(event.id),
            before=None,
            after=snapshot(event),
            at=now,
        )
        await services.changed(session, Scope.item(item_id, guild_id))
        change = Change(
            "added",
            item,
            event_view(event),
            actor_id,
            item.assess(facts, now),
            item.assess([*facts, to_fact(event)], now),
        )
        change = await _announced(session, change, guild_id=guild_id, now=now)
        await session.commit()
    return change


async def _own_event(session: AsyncSession, *, guild_id: int, event_id: int) -> TimelineEvent:
    """A visible event this guild recorded; the shared history cannot be changed from one guild."""
    event = await get_event(session, event_id=event_id)
    if (
        event is None
        or event.deleted_at is not None
        or (event.guild_id is not None and event.guild_id != guild_id)
    ):
        raise UserError("invalid.event_unknown", field="event_id", id=event_id)
    if event.guild_id is None:
        raise UserError("invalid.event_shared", id=event_id)
    return event


async def edit_update(
    services: Services,
    *,
    guild_id: int,
    actor_id: int,
    event_id: int,
    summary: str | None,
    stage: str | None,
    when: str | None,
    source_url: str | None,
    now: datetime,
) -> Change:
    event_id = check.row_id("event_id", event_id)
    if summary is None and stage is None and when is None and source_url is None:
        raise UserError("invalid.nothing_to_edit")
    async with writing(services.sessions) as session:
        event = await _own_event(session, guild_id=guild_id, event_id=event_id)
        spec = await _item_by_id(services, event.item_id, guild_id=guild_id)
        new_summary = (
            check.text("summary", summary, check.SUMMARY_LIMIT, multiline=True)
            if summary is not None
            else event.summary_en
        )
        new_stage = (
            check.stage("stage", stage, spec.rules.stages) if stage is not None else event.stage
        )
        if when is not None:
            new_at, new_precision = check.when("when", when, spec.timezone)
        else:
            new_at, new_precision = event.occurred_at, Precision(event.precision)
        new_url = (
            check.url("source_url", source_url) if source_url is not None else event.source_url
        )
        events = await list_events(session, item_id=event.item_id, guild_id=guild_id)
        facts = [to_fact(e) for e in events]
        edited = EventFact(new_at, new_stage, new_precision, order=event.id or 0)
        others = [f for f, e in zip(facts, events, strict=True) if e.id != event.id]
        _validate_history(spec, [*others, edited])
        before_snapshot = snapshot(event)
        changed = tuple(
            name
            for name, old, new in (
                ("summary", " ".join(event.summary_en.split()), " ".join(new_summary.split())),
                ("stage", event.stage, new_stage),
                ("when", (event.occurred_at, event.precision), (new_at, str(new_precision))),
                ("source_url", event.source_url, new_url),
            )
            if old != new
        )
        if not changed:
            raise UserError("invalid.nothing_changed", id=event_id)
        await save_revision(session, event=event, edited_by=actor_id, edited_at=now)
        event.summary_en, event.stage = new_summary, new_stage
        event.occurred_at, event.precision = new_at, str(new_precision)
        event.source_url = new_url
        event.revision += 1
        event.updated_at, event.updated_by = now, actor_id
        session.add(event)
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="event.edit",
            target_type="event",
            target_id=str(event.id),
            before=before_snapshot,
            after=snapshot(event),
            at=now,
        )
        await services.changed(session, Scope.item(event.item_id, guild_id))
        change = Change(
            "edited",
            spec,
            event_view(event),
            actor_id,
            spec.assess(facts, now),
            spec.assess([*others, edited], now),
            changed_fields=changed,
        )
        change = await _announced(session, change, guild_id=guild_id, now=now)
        await session.commit()
    return change


async def remove_update(
    services: Services, *, guild_id: int, actor_id: int, event_id: int, reason: str, now: datetime
) -> Change:
    event_id = check.row_id("event_id", event_id)
    reason = check.text("reason", reason, check.REASON_LIMIT, multiline=True)
    async with writing(services.sessions) as session:
        event = await _own_event(session, guild_id=guild_id, event_id=event_id)
        spec = await _item_by_id(services, event.item_id, guild_id=guild_id)
        events = await list_events(session, item_id=event.item_id, guild_id=guild_id)
        facts = [to_fact(e) for e in events]
        others = [f for f, e in zip(facts, events, strict=True) if e.id != event.id]
        _validate_history(spec, others)
        before_snapshot = snapshot(event)
        event.deleted_at, event.deleted_by, event.delete_reason = now, actor_id, reason
        session.add(event)
        after = snapshot(event) | {"reason": reason}
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="event.remove",
            target_type="event",
            target_id=str(event.id),
            before=before_snapshot,
            after=after,
            at=now,
        )
        await services.changed(session, Scope.item(event.item_id, guild_id))
        change = Change(
            "removed",
            spec,
            event_view(event),
            actor_id,
            spec.assess(facts, now),
            spec.assess(others, now),
        )
        change = await _announced(session, change, guild_id=guild_id, now=now)
        await session.commit()
    return change


async def add_deadline(
    services: Services,
    *,
    guild_id: int,
    actor_id: int,
    item: ItemSpec,
    title: str,
    when: str,
    now: datetime,
) -> CustomDeadline:
    title = check.text("title", title, check.TITLE_LIMIT)
    due_at, _ = check.when("when", when, item.timezone)
    if due_at <= now:
        raise UserError("invalid.deadline_past", field="when")
    async with writing(services.sessions) as session:
        deadline = CustomDeadline(
            guild_id=guild_id,
            item_id=services.item_ids[item.key],
            title=title,
            due_at=due_at,
            created_by=actor_id,
            # When it became known, on the bot's clock: reminders due before it are not owed.
            created_at=now,
        )
        session.add(deadline)
        await session.flush()
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="deadline.add",
            target_type="deadline",
            target_id=str(deadline.id),
            before=None,
            after={"item": item.key, "title": title, "due_at": due_at.isoformat()},
            at=now,
        )
        # /deadlines reads custom deadlines afresh; the change still goes out, to say
        # that this guild's deadlines of the item changed.
        await services.changed(session, Scope.item(deadline.item_id, guild_id))
        await session.commit()
    return deadline


async def remove_deadline(
    services: Services, *, guild_id: int, actor_id: int, deadline_id: int
) -> tuple[CustomDeadline, ItemSpec]:
    deadline_id = check.row_id("deadline_id", deadline_id)
    now = services.clock()
    async with writing(services.sessions) as session:
        deadline = await session.get(CustomDeadline, deadline_id)
        if deadline is None or deadline.guild_id != guild_id or deadline.deleted_at is not None:
            raise UserError("invalid.deadline_unknown", field="deadline_id", id=deadline_id)
        before = {"title": deadline.title, "due_at": deadline.due_at.isoformat(), "deleted": False}
        deadline.deleted_at, deadline.deleted_by = now, actor_id
        session.add(deadline)
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="deadline.remove",
            target_type="deadline",
            target_id=str(deadline_id),
            before=before,
            after=before | {"deleted": True},
            at=now,
        )
        await services.changed(session, Scope.item(deadline.item_id, guild_id))
        await session.commit()
    return deadline, await _item_by_id(services, deadline.item_id, guild_id=guild_id)
