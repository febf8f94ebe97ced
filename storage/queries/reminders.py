"""The reminder plan in the store (SPEC §5): planned deadlines, offsets as rows, owed reminders.

Reminders are derived in SQL from three tables (planned deadlines, each guild's offsets,
the guilds with a reminders channel), so a change re-plans its scope with a few
statements however many guilds it touches. A reminder row is inserted only while its
due time is ahead: a row in state "planned" is owed, and every process sweeps the same
rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
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
    true,
    update,
)
from sqlmodel import col
from sqlmodel import select as sm_select
from sqlmodel.ext.asyncio.session import AsyncSession

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
GONE = "no longer applies"


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
    session: AsyncSession, *, parsed: Mapping[str, Sequence[int]], guild_id: int | None = None
) -> set[int]:
    """Offsets as rows, from each guild's settings text; returns the guilds whose changed.

    A few statements per distinct text (guilds mostly share the defaults), none per guild.
    """
    conn = await session.connection()
    scope = [GS.c.guild_id == guild_id] if guild_id is not None else []
    touched: set[int] = set()
    # Guilds whose settings are gone keep no offsets.
    orphans = delete(RO).where(~exists().where(GS.c.guild_id == RO.c.guild_id))
    if guild_id is not None:
        orphans = orphans.where(RO.c.guild_id == guild_id)
    touched.update((await conn.execute(orphans.returning(RO.c.guild_id))).scalars())
    insert = insert_or_skip(conn.dialect.name, RO, ["guild_id", "offset_seconds"])
    for source, seconds in parsed.items():
        guilds = select(GS.c.guild_id).where(GS.c.reminder_offsets == source, *scope)
        stale = delete(RO).where(
            RO.c.guild_id.in_(guilds.scalar_subquery()),
            RO.c.offset_seconds.not_in(list(seconds)),
        )
        touched.update((await conn.execute(stale.returning(RO.c.guild_id))).scalars())
        for value in seconds:
            fresh = insert.from_select(
                ["guild_id", "offset_seconds"],
                select(GS.c.guild_id, literal(value, Integer())).where(
                    GS.c.reminder_offsets == source, *scope
                ),
            )
            touched.update((await conn.execute(fresh.returning(RO.c.guild_id))).scalars())
    return touched


async def replace_computed(
    session: AsyncSession,
    *,
    scope: int,
    item_id: int,
    deadlines: Sequence[PlannedRow],
    now: datetime,
) -> bool:
    """Make the item's computed deadlines in ``scope`` exactly ``deadlines``; True if changed."""
    conn = await session.connection()
    mine = and_(PD.c.scope == scope, PD.c.item_id == item_id, PD.c.custom_id.is_(None))
    stored = {
        (row.deadline_key, row.deadline_at, row.kind, row.effect_at)
        for row in (
            await conn.execute(
                select(PD.c.deadline_key, PD.c.deadline_at, PD.c.kind, PD.c.effect_at).where(mine)
            )
        ).all()
    }
    wanted = {(d.key, d.at, d.kind, d.effect_at) for d in deadlines if d.at > now}
    if stored == wanted:
        return False
    for key, at, _, _ in stored - wanted:
        await conn.execute(delete(PD).where(mine, PD.c.deadline_key == key, PD.c.deadline_at == at))
    new = [
        {
            "scope": scope,
            "item_id": item_id,
            "deadline_key": key,
            "kind": kind,
            "deadline_at": at,
            "effect_at": effect,
        }
        for key, at, kind, effect in wanted - stored
    ]
    if new:
        await conn.execute(
            insert_or_skip(conn.dialect.name, PD, ["deadline_key", "deadline_at", "scope"]), new
        )
    return True


async def drop_unowned(session: AsyncSession) -> set[int]:
    """A guild's own computed deadlines of an item it no longer has stage changes for;
    returns those guilds."""
    own = exists().where(
        TE.c.item_id == PD.c.item_id,
        TE.c.guild_id == PD.c.scope,
        TE.c.stage.is_not(None),
        TE.c.deleted_at.is_(None),
    )
    stmt = delete(PD).where(PD.c.scope != SHARED, PD.c.custom_id.is_(None), ~own)
    conn = await session.connection()
    return set((await conn.execute(stmt.returning(PD.c.scope))).scalars())


async def sync_customs(
    session: AsyncSession, *, now: datetime, guild_id: int | None = None
) -> set[int]:
    """Guilds' own deadlines (``/deadline add``) as planned deadlines, in two statements;
    returns the guilds whose changed."""
    conn = await session.connection()
    live = and_(CD.c.deleted_at.is_(None), CD.c.due_at > _at(now))
    stale = delete(PD).where(
        PD.c.custom_id.is_not(None),
        ~exists().where(CD.c.id == PD.c.custom_id, CD.c.due_at == PD.c.deadline_at, live),
    )
    fresh = select(
        CD.c.guild_id,
        CD.c.item_id,
        (IT.c.key + literal("/custom:") + cast(CD.c.id, String)).label("deadline_key"),
        literal("custom").label("kind"),
        CD.c.due_at,
        CD.c.title,
        CD.c.id,
    ).where(IT.c.id == CD.c.item_id, live)
    if guild_id is not None:
        stale = stale.where(PD.c.scope == guild_id)
        fresh = fresh.where(CD.c.guild_id == guild_id)
    touched = set((await conn.execute(stale.returning(PD.c.scope))).scalars())
    insert = insert_or_skip(conn.dialect.name, PD, ["deadline_key", "deadline_at", "scope"])
    added = insert.from_select(
        ["scope", "item_id", "deadline_key", "kind", "deadline_at", "title", "custom_id"], fresh
    )
    touched.update((await conn.execute(added.returning(PD.c.scope))).scalars())
    return touched


def _minus_seconds(dialect: str, at: Any, seconds: Any) -> ColumnElement[Any]:
    """``at`` minus whole ``seconds``, computed by the database."""
    if dialect == "postgresql":
        return at - seconds * literal_column("interval '1 second'")  # type: ignore[no-any-return]
    # SQLite keeps UTCDateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); offsets are
    # whole seconds, so the fraction is carried over unchanged.
    shifted = func.strftime("%Y-%m-%d %H:%M:%S", at, func.printf("-%d seconds", seconds))
    return shifted.concat(func.substr(at, 20))


def _own_events(guild: Any, item: Any) -> ColumnElement[bool]:
    return exists().where(
        TE.c.item_id == item,
        TE.c.guild_id == guild,
        TE.c.stage.is_not(None),
        TE.c.deleted_at.is_(None),
    )


def _derivable() -> ColumnElement[bool]:
    """A reminder row still follows from a planned deadline, its guild's offsets and channel."""
    d, o, g = PD.alias("d"), RO.alias("o"), GS.alias("g")
    return exists().where(
        d.c.deadline_key == RD.c.deadline_key,
        d.c.deadline_at == RD.c.deadline_at,
        or_(
            d.c.scope == RD.c.guild_id,
            and_(d.c.scope == SHARED, ~_own_events(RD.c.guild_id, d.c.item_id)),
        ),
        o.c.guild_id == RD.c.guild_id,
        o.c.offset_seconds == RD.c.offset_seconds,
        g.c.guild_id == RD.c.guild_id,
        g.c.reminders_channel_id.is_not(None),
    )


@dataclass(frozen=True, slots=True)
class Derived:
    inserted: int
    deleted: int
    dropped: int


_COLUMNS = [
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
    "late",
]


def _derived_rows(dialect: str, now: datetime, *where: ColumnElement[bool]) -> list[Any]:
    due = _minus_seconds(dialect, PD.c.deadline_at, RO.c.offset_seconds)
    return [
        [
            GS.c.guild_id,
            PD.c.item_id,
            PD.c.deadline_key,
            PD.c.deadline_at,
            RO.c.offset_seconds,
            due,
            PD.c.kind,
            PD.c.effect_at,
            PD.c.title,
            literal("planned"),
            literal(False),
        ],
        [GS.c.reminders_channel_id.is_not(None), due > _at(now), *where],
    ]


async def _retire(
    session: AsyncSession, *, now: datetime, rows: list[ColumnElement[bool]], gone: Any
) -> tuple[int, int]:
    """Planned rows for which ``gone`` holds: deleted while ahead, dropped once due."""
    conn = await session.connection()
    dropped = await conn.execute(
        update(RD)
        .where(*rows, RD.c.due_at <= _at(now), gone)
        .values(state="dropped", reason=case((RD.c.deadline_at <= _at(now), PASSED), else_=GONE))
    )
    deleted = await conn.execute(delete(RD).where(*rows, RD.c.due_at > _at(now), gone))
    return int(deleted.rowcount or 0), int(dropped.rowcount or 0)


async def derive_item(session: AsyncSession, *, item_id: int, now: datetime) -> Derived:
    """An item's shared deadlines changed: its reminders for every guild that shares them.

    Only what the item's change can move is looked at: a row goes when its deadline is no
    longer planned, neither shared nor as the guild's own (a guild's channel, offsets and
    own stage changes are its own re-plan's business), and the new shared deadlines are
    planned for the guilds without stage changes of their own (a handful, read once).
    """
    conn = await session.connection()
    d = PD.alias("d")
    gone = ~exists().where(
        d.c.deadline_key == RD.c.deadline_key,
        d.c.deadline_at == RD.c.deadline_at,
        d.c.scope.in_([SHARED, RD.c.guild_id]),
    )
    rows = [RD.c.item_id == item_id, RD.c.state == "planned"]
    deleted, dropped = await _retire(session, now=now, rows=rows, gone=gone)
    own = (
        select(TE.c.guild_id)
        .distinct()
        .where(
            TE.c.item_id == item_id,
            TE.c.guild_id.is_not(None),
            TE.c.stage.is_not(None),
            TE.c.deleted_at.is_(None),
        )
    )
    owners = [int(g) for g in (await conn.execute(own)).scalars().all()]
    columns, where = _derived_rows(
        conn.dialect.name, now, PD.c.scope == SHARED, PD.c.item_id == item_id
    )
    if owners:
        where.append(GS.c.guild_id.not_in(owners))
    r = RD.alias("r")
    source = (
        select(*columns)
        .select_from(PD)
        .join(GS, true())
        .join(RO, RO.c.guild_id == GS.c.guild_id)
        .where(
            *where,
            # Rows of deadlines that did not move stay; a plain INSERT of the rest is much
            # cheaper on PostgreSQL than ON CONFLICT's speculative insertion, and the
            # item's lock keeps every other re-plan from inserting them meanwhile.
            ~exists().where(
                r.c.guild_id == GS.c.guild_id,
                r.c.deadline_key == PD.c.deadline_key,
                r.c.deadline_at == PD.c.deadline_at,
                r.c.offset_seconds == RO.c.offset_seconds,
            ),
        )
    )
    result = await conn.execute(RD.insert().from_select(_COLUMNS, source))
    return Derived(int(result.rowcount or 0), deleted, dropped)


async def derive(session: AsyncSession, *, now: datetime, guild_id: int | None = None) -> Derived:
    """Bring a guild's owed reminders (or every guild's) in line with the plan, set-based.

    Rows still ahead that no longer follow from the plan (its deadlines, the guild's
    offsets and channel) are deleted; rows already due that no longer follow are dropped
    with the reason; missing rows whose due time is ahead are inserted.
    """
    conn = await session.connection()
    rows = [RD.c.state == "planned"]
    if guild_id is not None:
        # The state as an expression, so that no index on it applies: through the unique
        # index that starts with the guild, SQLite reads that guild's few rows instead of
        # walking the (state, due_at) index over every guild's.
        rows = [RD.c.guild_id == guild_id, RD.c.state.concat("") == "planned"]
    deleted, dropped = await _retire(session, now=now, rows=rows, gone=~_derivable())
    scope = [GS.c.guild_id == guild_id] if guild_id is not None else []
    columns, where = _derived_rows(conn.dialect.name, now, *scope)
    shared = (
        select(*columns)
        .select_from(PD)
        .join(GS, true())
        .join(RO, RO.c.guild_id == GS.c.guild_id)
        .where(PD.c.scope == SHARED, ~_own_events(GS.c.guild_id, PD.c.item_id), *where)
    )
    own = (
        select(*columns)
        .select_from(PD)
        .join(GS, GS.c.guild_id == PD.c.scope)
        .join(RO, RO.c.guild_id == GS.c.guild_id)
        .where(PD.c.scope != SHARED, *where)
    )
    insert = insert_or_skip(
        conn.dialect.name, RD, ["guild_id", "deadline_key", "deadline_at", "offset_seconds"]
    )
    inserted = 0
    for source in (shared, own):
        result = await conn.execute(insert.from_select(_COLUMNS, source))
        inserted += int(result.rowcount or 0)
    return Derived(inserted, deleted, dropped)


# --- what the sweep does ---------------------------------------------------------------


async def drop_passed(session: AsyncSession, *, now: datetime) -> int:
    """Owed reminders whose deadline itself passed (the bot was down): recorded as dropped."""
    result = await (await session.connection()).execute(
        update(RD)
        .where(RD.c.state == "planned", RD.c.deadline_at <= _at(now))
        .values(state="dropped", reason=PASSED)
    )
    return int(result.rowcount or 0)


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


async def claim_due(
    session: AsyncSession, *, now: datetime, by: str, limit: int
) -> list[OwedReminder]:
    """Claim up to ``limit`` owed reminders due by ``now``, soonest first; no two claimants
    get the same row (row locks skipped on PostgreSQL; one writer at a time on SQLite)."""
    conn = await session.connection()
    due = (
        select(RD.c.id)
        .where(RD.c.state == "planned", RD.c.due_at <= _at(now))
        .order_by(RD.c.due_at, RD.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = await conn.execute(
        update(RD)
        .where(RD.c.id.in_(due.scalar_subquery()), RD.c.state == "planned")
        .values(state="claimed", claimed_by=by, claimed_at=now)
        .returning(*_OWED)
    )
    owed = [OwedReminder(*row) for row in result.all()]
    return sorted(owed, key=lambda r: (r.due_at, r.id))


async def unfinished(session: AsyncSession) -> list[OwedReminder]:
    """Reminders claimed but not recorded as sent: a process died between the two."""
    stmt = select(*_OWED).where(RD.c.state == "claimed").order_by(RD.c.due_at, RD.c.id)
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


async def next_due(session: AsyncSession) -> datetime | None:
    """When the soonest owed reminder falls due."""
    stmt = select(func.min(RD.c.due_at)).where(RD.c.state == "planned")
    value: datetime | None = (await (await session.connection()).execute(stmt)).scalar()
    return value


async def owed_count(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(RD).where(RD.c.state == "planned")
    return int((await (await session.connection()).execute(stmt)).scalar_one())
