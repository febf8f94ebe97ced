"""The reminder plan in the store (SPEC §5): planned deadlines and each guild's offsets.

A plan is two small tables: the deadlines reminders are planned for (an item's computed
ones, shared or a guild's own, and the guilds' custom ones) and each reminded guild's
offsets, each row stamped with when it was planned. Which reminders are due is worked
out from them in SQL when the sweep runs, so a change re-plans by rewriting a handful
of rows however many guilds share the deadline, and every process sweeps the same plan.
A reminder is owed only if its due time was not past when both its deadline and its
guild's offset were planned; once claimed, sent or dropped, it is a ``reminder_delivery``
row, which the unique key makes once-only across processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlmodel import col
from sqlmodel import select as sm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.shards import Shards
from storage.models import (
    CustomDeadline,
    GuildSettings,
    Item,
    PlannedDeadline,
    ReminderDelivery,
    ReminderOffset,
    TimelineEvent,
)
from storage.queries._insert import insert_or_skip, table_of
from storage.queries.shards import owned
from storage.types import UTCDateTime

PD = table_of(PlannedDeadline)
RO = table_of(ReminderOffset)
RD = table_of(ReminderDelivery)
GS = table_of(GuildSettings)
TE = table_of(TimelineEvent)
CD = table_of(CustomDeadline)
IT = table_of(Item)

SHARED = 0  # the scope of a deadline every guild shares
PASSED = "deadline passed"
# A passed deadline stays planned this long, so that a sweep after downtime still finds
# its reminders and records them as dropped rather than leaving no trace.
KEEP_PASSED = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """One computed deadline as the planner stores it."""

    key: str  # "<item key>/<deadline key>"
    kind: str
    at: datetime
    effect_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OwedReminder:
    """A reminder row as the sweep claims it: everything needed to post it."""

    id: int
    guild_id: int
    item_id: int
    deadline_key: str
    deadline_at: datetime
    offset_seconds: int
    due_at: datetime
    kind: str
    effect_at: datetime | None
    title: str | None
    claimed_at: datetime | None = None


def _at(value: datetime) -> ColumnElement[Any]:
    # Bound with the column type, so SQLite compares the same naive-UTC text it stores.
    return literal(value, UTCDateTime())


async def lock(
    session: AsyncSession, *, exclusive: Iterable[str] = (), shared: Iterable[str] = ()
) -> None:
    """Serialise re-plans per scope until the transaction ends.

    PostgreSQL: advisory transaction locks, taken in one global order so that no two
    re-plans wait on each other in a cycle. SQLite: every writer already holds the
    database's one write lock (``storage.engine.writing``).
    """
    conn = await session.connection()
    if conn.dialect.name != "postgresql":
        return
    wanted = {name: "exclusive" for name in exclusive}
    for name in shared:
        wanted.setdefault(name, "shared")
    for name in sorted(wanted):
        function = "pg_advisory_xact_lock" + ("_shared" if wanted[name] == "shared" else "")
        await conn.execute(
            text(f"SELECT {function}(hashtextextended(:name, 0))"), {"name": "replan:" + name}
        )


# --- what the planner reads ------------------------------------------------------------


async def stage_events_by_scope(
    session: AsyncSession,
) -> dict[tuple[int, int | None], list[TimelineEvent]]:
    """Every visible stage change, grouped by (item, guild or None), oldest first: one query."""
    stmt = (
        sm_select(TimelineEvent)
        .where(col(TimelineEvent.stage).is_not(None), col(TimelineEvent.deleted_at).is_(None))
        .order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.id))
    )
    grouped: dict[tuple[int, int | None], list[TimelineEvent]] = {}
    for event in (await session.exec(stmt)).all():
        grouped.setdefault((event.item_id, event.guild_id), []).append(event)
    return grouped


async def own_items(session: AsyncSession, *, guild_id: int) -> set[int]:
    """The items this guild has stage changes of its own for (its deadlines differ)."""
    stmt = (
        select(TE.c.item_id)
        .distinct()
        .where(TE.c.guild_id == guild_id, TE.c.stage.is_not(None), TE.c.deleted_at.is_(None))
    )
    return set((await (await session.connection()).execute(stmt)).scalars().all())


async def offset_texts(session: AsyncSession, *, guild_id: int | None = None) -> list[str]:
    stmt = select(GS.c.reminder_offsets).distinct()
    if guild_id is not None:
        stmt = stmt.where(GS.c.guild_id == guild_id)
    return [str(t) for t in (await (await session.connection()).execute(stmt)).scalars().all()]


# --- what the planner writes -----------------------------------------------------------


async def sync_offsets(
    session: AsyncSession,
    *,
    parsed: Mapping[str, Sequence[int]],
    now: datetime,
    guild_id: int | None = None,
) -> None:
    """Offsets as rows for the guilds with a reminders channel (no channel, no rows), from
    each guild's settings text; a new row is stamped ``now``, a kept one keeps its stamp.

    A few statements per distinct text (guilds mostly share the defaults), none per guild.
    """
    conn = await session.connection()
    reminded: list[ColumnElement[bool]] = [GS.c.reminders_channel_id.is_not(None)]
    if guild_id is not None:
        reminded.append(GS.c.guild_id == guild_id)
    # Guilds whose settings are gone, or that no longer have a reminders channel.
    orphans = delete(RO).where(
        ~exists().where(GS.c.guild_id == RO.c.guild_id, *reminded).correlate_except(GS)
    )
    if guild_id is not None:
        orphans = orphans.where(RO.c.guild_id == guild_id)
    await conn.execute(orphans)
    insert = insert_or_skip(conn.dialect.name, RO, ["guild_id", "offset_seconds"])
    for source, seconds in parsed.items():
        guilds = select(GS.c.guild_id).where(GS.c.reminder_offsets == source, *reminded)
        await conn.execute(
            delete(RO).where(
                RO.c.guild_id.in_(guilds.scalar_subquery()),
                RO.c.offset_seconds.not_in(list(seconds)),
            )
        )
        for value in seconds:
            await conn.execute(
                insert.from_select(
                    ["guild_id", "offset_seconds", "planned_at"],
                    select(GS.c.guild_id, literal(value, Integer()), _at(now)).where(
                        GS.c.reminder_offsets == source, *reminded
                    ),
                )
            )


async def replace_computed(
    session: AsyncSession,
    *,
    scope: int,
    item_id: int,
    deadlines: Sequence[PlannedRow] | None,
    now: datetime,
) -> bool:
    """Make the item's upcoming computed deadlines in ``scope`` exactly ``deadlines``;
    True if they changed. None (they could not be computed) keeps them as they are.

    A deadline that stays keeps its planned-at stamp; passed ones are kept a while
    (``KEEP_PASSED``) for the sweep to account for.
    """
    if deadlines is None:
        return False
    conn = await session.connection()
    mine = and_(PD.c.scope == scope, PD.c.item_id == item_id, PD.c.custom_id.is_(None))
    await conn.execute(delete(PD).where(mine, PD.c.deadline_at <= _at(now - KEEP_PASSED)))
    upcoming = and_(mine, PD.c.deadline_at > _at(now))
    stored = {
        (row.deadline_key, row.deadline_at): (row.kind, row.effect_at)
        for row in (
            await conn.execute(
                select(PD.c.deadline_key, PD.c.deadline_at, PD.c.kind, PD.c.effect_at).where(
                    upcoming
                )
            )
        ).all()
    }
    wanted = {(d.key, d.at): (d.kind, d.effect_at) for d in deadlines if d.at > now}
    if stored == wanted:
        return False
    for key, at in stored.keys() - wanted.keys():
        await conn.execute(delete(PD).where(mine, PD.c.deadline_key == key, PD.c.deadline_at == at))
    for key, at in stored.keys() & wanted.keys():
        if stored[(key, at)] != wanted[(key, at)]:
            kind, effect = wanted[(key, at)]
            await conn.execute(
                update(PD)
                .where(mine, PD.c.deadline_key == key, PD.c.deadline_at == at)
                .values(kind=kind, effect_at=effect)
            )
    new = [
        {
            "scope": scope,
            "item_id": item_id,
            "deadline_key": key,
            "kind": kind,
            "deadline_at": at,
            "effect_at": effect,
            "planned_at": now,
        }
        for (key, at), (kind, effect) in wanted.items()
        if (key, at) not in stored
    ]
    if new:
        await conn.execute(
            insert_or_skip(conn.dialect.name, PD, ["deadline_key", "deadline_at", "scope"]), new
        )
    return True


async def drop_unowned(session: AsyncSession) -> None:
    """A guild's own computed deadlines of an item it no longer has stage changes for."""
    own = exists().where(
        TE.c.item_id == PD.c.item_id,
        TE.c.guild_id == PD.c.scope,
        TE.c.stage.is_not(None),
        TE.c.deleted_at.is_(None),
    )
    stmt = delete(PD).where(PD.c.scope != SHARED, PD.c.custom_id.is_(None), ~own)
    await (await session.connection()).execute(stmt)


async def sync_customs(
    session: AsyncSession,
    *,
    now: datetime,
    guild_id: int | None = None,
    added_since: datetime | None = None,
) -> None:
    """Guilds' own deadlines (``/deadline add``) as planned deadlines, planned since they
    were added.

    Only the differences are touched (custom deadlines are added and removed, never
    moved), so that the periodic re-plan over every guild's costs little when nothing
    changed: removed ones go, new ones come (with ``added_since``, only those added
    since then are looked for), passed ones go after ``KEEP_PASSED``.
    """
    conn = await session.connection()
    # A custom deadline of a hidden guild item (/track stop) is reminded no more.
    hidden = select(IT.c.id).where(IT.c.hidden_at.is_not(None))
    removed = select(CD.c.id).where(
        or_(CD.c.deleted_at.is_not(None), CD.c.item_id.in_(hidden.scalar_subquery()))
    )
    stale = delete(PD).where(
        PD.c.custom_id.is_not(None),
        or_(
            PD.c.custom_id.in_(removed.scalar_subquery()),
            PD.c.deadline_at <= _at(now - KEEP_PASSED),
        ),
    )
    planned = PD.alias("planned")
    fresh = select(
        CD.c.guild_id,
        CD.c.item_id,
        (IT.c.key + literal("/custom:") + cast(CD.c.id, String)).label("deadline_key"),
        literal("custom").label("kind"),
        CD.c.due_at,
        CD.c.title,
        CD.c.id,
        CD.c.created_at,
    ).where(
        IT.c.id == CD.c.item_id,
        IT.c.hidden_at.is_(None),
        CD.c.deleted_at.is_(None),
        CD.c.due_at > _at(now),
        ~exists().where(planned.c.custom_id == CD.c.id).correlate_except(planned),
    )
    if guild_id is not None:
        stale = stale.where(PD.c.scope == guild_id)
        fresh = fresh.where(CD.c.guild_id == guild_id)
    if added_since is not None:
        fresh = fresh.where(CD.c.created_at >= _at(added_since))
    await conn.execute(stale)
    insert = insert_or_skip(conn.dialect.name, PD, ["deadline_key", "deadline_at", "scope"])
    await conn.execute(
        insert.from_select(
            [
                "scope",
                "item_id",
                "deadline_key",
                "kind",
                "deadline_at",
                "title",
                "custom_id",
                "planned_at",
            ],
            fresh,
        )
    )


def _minus_seconds(dialect: str, at: Any, seconds: Any) -> ColumnElement[Any]:
    """``at`` minus whole ``seconds``, computed by the database."""
    if dialect == "postgresql":
        return at - seconds * literal_column("interval '1 second'")  # type: ignore[no-any-return]
    # SQLite keeps UTCDateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); offsets are
    # whole seconds, so the fraction is carried over unchanged.
    shifted = func.strftime("%Y-%m-%d %H:%M:%S", at, func.printf("-%d seconds", seconds))
    return shifted.concat(func.substr(at, 20))


def _own_events(guild: Any, item: Any) -> ColumnElement[bool]:
    # Correlated explicitly: nested two levels down, SQLAlchemy would otherwise take the
    # outer table into this subquery's FROM (a cross join) instead of referring to it.
    return (
        exists()
        .where(
            TE.c.item_id == item,
            TE.c.guild_id == guild,
            TE.c.stage.is_not(None),
            TE.c.deleted_at.is_(None),
        )
        .correlate_except(TE)
    )


# --- what the sweep does ---------------------------------------------------------------


_OWED = (
    RD.c.id,
    RD.c.guild_id,
    RD.c.item_id,
    RD.c.deadline_key,
    RD.c.deadline_at,
    RD.c.offset_seconds,
    RD.c.due_at,
    RD.c.kind,
    RD.c.effect_at,
    RD.c.title,
)
# Deadlines per claiming statement: bounded, for the drivers' parameter limits.
ID_CHUNK = 500
_CLAIMED = [
    "guild_id",
    "item_id",
    "deadline_key",
    "deadline_at",
    "offset_seconds",
    "due_at",
    "kind",
    "effect_at",
    "title",
    "state",
    "reason",
    "claimed_by",
    "claimed_at",
    "late",
]


async def offsets_in_use(session: AsyncSession) -> list[int]:
    stmt = select(RO.c.offset_seconds).distinct()
    return [int(o) for o in (await (await session.connection()).execute(stmt)).scalars()]


def _due_sources(
    dialect: str,
    *,
    offset: int,
    shared: list[int],
    own: list[int],
    now: datetime,
    by: str,
    shards: Shards = Shards.ALL,
) -> list[Any]:
    """The owed reminders at ``offset`` of the given planned deadlines, as SELECTs (shared
    deadlines, then guilds' own), each row ready to insert as claimed, or as dropped when
    its deadline itself has passed (the bot was down)."""
    due = _minus_seconds(dialect, PD.c.deadline_at, literal(offset, Integer()))
    passed = PD.c.deadline_at <= _at(now)
    columns = [
        RO.c.guild_id,
        PD.c.item_id,
        PD.c.deadline_key,
        PD.c.deadline_at,
        RO.c.offset_seconds,
        due,
        PD.c.kind,
        PD.c.effect_at,
        PD.c.title,
        case((passed, literal("dropped")), else_=literal("claimed")),
        case((passed, literal(PASSED)), else_=literal(None, String())),
        literal(by),
        _at(now),
        literal(False),
    ]
    # Owed only if neither the deadline nor the guild's offset was planned after it.
    owed = [due >= PD.c.planned_at, due >= RO.c.planned_at]
    owed.append(owned(RO.c.guild_id, shards))
    sources = []
    if shared:
        sources.append(
            select(*columns)
            .select_from(PD)
            .join(RO, RO.c.offset_seconds == offset)
            .where(PD.c.id.in_(shared), *owed, ~_own_events(RO.c.guild_id, PD.c.item_id))
        )
    if own:
        sources.append(
            select(*columns)
            .select_from(PD)
            .join(RO, and_(RO.c.guild_id == PD.c.scope, RO.c.offset_seconds == offset))
            .where(PD.c.id.in_(own), *owed)
        )
    return sources


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    after: datetime | None,
    by: str,
    offsets: Sequence[int],
    shards: Shards = Shards.ALL,
) -> tuple[list[OwedReminder], int]:
    """Claim every owed reminder due in (``after``, ``now``] that nobody claimed yet;
    returns them, and how many were dropped because their deadline had passed.

    Claiming is inserting the reminder's row: the unique key lets exactly one claimant
    (process or sweep) create it, and a reminder already claimed, sent or dropped is
    skipped by the same key. Per offset, the deadlines in range are found first through
    their time's index (usually none), then their guilds' reminders in one statement.
    With ``shards``, only the guilds of this process's shards.
    """
    conn = await session.connection()
    insert = insert_or_skip(
        conn.dialect.name, RD, ["guild_id", "deadline_key", "deadline_at", "offset_seconds"]
    )
    claimed: list[OwedReminder] = []
    dropped = 0
    for offset in offsets:
        window = [PD.c.deadline_at <= _at(now + timedelta(seconds=offset))]
        if after is not None:
            window.append(PD.c.deadline_at > _at(after + timedelta(seconds=offset)))
        found = (await conn.execute(select(PD.c.id, PD.c.scope).where(*window))).all()
        shared = [i for i, scope in found if scope == SHARED]
        own = [i for i, scope in found if scope != SHARED]
        for start in range(0, max(len(shared), len(own)), ID_CHUNK):
            sources = _due_sources(
                conn.dialect.name,
                offset=offset,
                shared=shared[start : start + ID_CHUNK],
                own=own[start : start + ID_CHUNK],
                now=now,
                by=by,
                shards=shards,
            )
            for source in sources:
                stmt = insert.from_select(_CLAIMED, source).returning(*_OWED, RD.c.state)
                for row in (await conn.execute(stmt)).all():
                    if row.state == "claimed":
                        claimed.append(OwedReminder(*row[:-1]))
                    else:
                        dropped += 1
    return sorted(claimed, key=lambda r: (r.due_at, r.id)), dropped


async def unfinished(session: AsyncSession, *, shards: Shards = Shards.ALL) -> list[OwedReminder]:
    """Reminders claimed but not recorded as sent: a process died between the two. With
    ``shards``, only those of this process's guilds: another shard's are its own process's
    to settle, and it may be sending them right now."""
    stmt = (
        select(*_OWED, RD.c.claimed_at)
        .where(RD.c.state == "claimed", owned(RD.c.guild_id, shards))
        .order_by(RD.c.due_at, RD.c.id)
    )
    return [OwedReminder(*row) for row in (await (await session.connection()).execute(stmt)).all()]


async def record_outcome(
    session: AsyncSession,
    *,
    delivery_id: int,
    message_id: int | None,
    late: bool,
    now: datetime,
    reason: str | None = None,
) -> None:
    """Sent (with its message) or, without a message, dropped; one UPDATE, no read first."""
    values: dict[str, Any] = (
        {"state": "sent", "message_id": message_id, "late": late, "sent_at": now}
        if message_id is not None
        else {"state": "dropped", "reason": reason}
    )
    await (await session.connection()).execute(
        update(RD).where(RD.c.id == delivery_id).values(**values)
    )


async def upcoming(
    session: AsyncSession, *, now: datetime, guild_id: int | None = None
) -> list[tuple[int, str, int, datetime]]:
    """Owed reminders still ahead: (guild, deadline key, offset in seconds, due), soonest
    first. For the demo and the tests; the sweep never lists what is not due."""
    conn = await session.connection()
    due = _minus_seconds(conn.dialect.name, PD.c.deadline_at, RO.c.offset_seconds)
    columns = [RO.c.guild_id, PD.c.deadline_key, RO.c.offset_seconds, due.label("due")]
    owed = [due > _at(now), due >= PD.c.planned_at, due >= RO.c.planned_at]
    if guild_id is not None:
        owed.append(RO.c.guild_id == guild_id)
    shared = (
        select(*columns)
        .select_from(PD)
        .join(RO, literal(True))
        .where(PD.c.scope == SHARED, *owed, ~_own_events(RO.c.guild_id, PD.c.item_id))
    )
    own = (
        select(*columns)
        .select_from(PD)
        .join(RO, RO.c.guild_id == PD.c.scope)
        .where(PD.c.scope != SHARED, *owed)
    )
    out: list[tuple[int, str, int, datetime]] = []
    for source in (shared, own):
        for g, key, offset, at in (await conn.execute(source)).all():
            when = UTCDateTime().process_result_value(
                at if isinstance(at, datetime) else datetime.fromisoformat(at), conn.dialect
            )
            assert when is not None
            out.append((int(g), str(key), int(offset), when))
    return sorted(out, key=lambda r: (r[3], r[0], r[1], r[2]))


async def delivery_counts(session: AsyncSession, *, guild_id: int) -> dict[str, int]:
    """A guild's reminders by outcome: "sent", "claimed", and "dropped" split into
    "passed" (the deadline went by while the bot was down) and "other" (channel gone)."""
    stmt = (
        select(RD.c.state, RD.c.reason, func.count())
        .where(RD.c.guild_id == guild_id)
        .group_by(RD.c.state, RD.c.reason)
    )
    counts = {"sent": 0, "claimed": 0, "passed": 0, "other": 0}
    for state, reason, count in (await (await session.connection()).execute(stmt)).all():
        key = state if state != "dropped" else ("passed" if reason == PASSED else "other")
        counts[key] = counts.get(key, 0) + int(count)
    return counts
