"""Write latency at 10,000 guilds: moderator replies beside /status, and the re-plan after them.

A store of 10,000 guilds, each with a reminders channel and 4 reminder offsets, and the
configured items with their seed histories. The real bot runs against the stand-in, in
which a few of those guilds exist, each with an administrator. Each round asks /status
there, then one moderator command, in rotation: /update add (a stage change of a
configured item that its rules allow next, and back again the next time, so that every
one moves the item's deadlines in that guild), /deadline add, /setup reminders (4 other
offsets) and /setup language (ko and en in turn). Reply time: from the stand-in writing
the interaction to its first response arriving. Background time: from that response
until ``bot.after.drain()`` returns, i.e. until the re-plan (and the announcement) the
change handed over has run. The next round starts only then, so that /status and the
moderator commands meet the same idle bot.

After every rotation of the four commands comes a shared stage change of the item, as
the official data would record it (no command changes the history every guild shares):
the bench writes a ``termination_notified`` event of an hour ago to the shared history
and times ``Reminders.replan_item``, then marks that event deleted and times it again
(the deadlines move back). Each must change the item's shared deadlines and give every
store-only guild reminders for the new ones. The stand-in guilds have a stage history of
their own for the item (their /update add), so the shared re-plan leaves them out. The
two changes follow each other with no command between: the shared notice cannot follow
a guild's own one, so while it stands those guilds' histories are refused by the rules.

Targets (issue 11): every moderator reply's p50 at most 1.5 x /status's p50 in the same
run; a one-guild change fully re-planned in at most 50 ms, which includes /update add
(it records the change in that guild's own history, and its follow-up is
``replan_guild``); a shared item's stage change fully re-planned for 10,000 guilds in at
most 1 s. The re-plan targets are judged on the slowest change of each kind (background
max; with 40 runs, p99 is the slowest too). The exit code says whether the run was sound
(every command and shared change did what it should), not whether the targets were met.

On PostgreSQL the bench creates a database of its own on the server that --postgres-url
names (default: $TEST_DATABASE_URL, else postgres@127.0.0.1:5432) and drops it after.
Run: python bench/write_latency.py [--backend sqlite|postgresql|both] [--rounds N]
     [--guilds N] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy.engine import make_url
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.bigstore import fill
from bench.interaction_latency import percentile
from config.settings import normalize_database_url
from config.tracker import TrackerConfig, load_tracker
from demo.harness import running_bot
from discordbot.bot import MotionwatchBot
from motionwatch_standin import DiscordStandIn, Guild, InteractionRecord, Perm
from services.reading import statuses
from storage.engine import create_engine, session_factory, writing
from storage.models import AuditLog, PlannedDeadline, TimelineEvent
from storage.notify import Scope
from storage.queries.reminders import SHARED, upcoming
from tracker.items import ItemSpec
from tracker.lookup import resolve_item

ROOT = Path(__file__).resolve().parents[1]
ITEM = "gsomia"  # a configured item, shared by every guild
IN_STANDIN = 4  # guilds the commands run in; the others exist in the store only
OFFSETS = ("7d,1d,1h,10m", "7d,1d,1h,30m")  # /setup reminders swaps between the two
WARMUP_ROTATIONS = 2  # every command this many times before measuring
# Between /status and the moderator command the bot is left a moment to finish what
# follows a reply (discord.py parses what Discord returned), as in interaction_latency.py:
# nothing outside the bot can tell when that is done. After a moderator command,
# bot.after.drain() is the condition waited for instead.
PAUSE = 0.005
# A reply slower than this is a broken run, not a figure (Discord drops it after 3 s).
REPLY_TIMEOUT = 10.0
# A start plans every guild's reminders before the bot connects.
READY_TIMEOUT = 300.0
RATIO_TARGET = 1.5
ONE_GUILD_TARGET = 0.050
SHARED_TARGET = 1.0
# The shared stage change the bench records, as the official data would: allowed after the
# item's seeded stage (notice withdrawn), and moving every one of its shared deadlines.
SHARED_STAGE = "termination_notified"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Place:
    """One of the guilds the commands run in, and what they last set there."""

    guild: Guild
    channel: int
    reminders: int
    admin: int
    # The two stages /update add records in turn, each allowed after the other.
    stages: tuple[str, str] = ("", "")
    updates: int = 0
    offsets: int = 0
    korean: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    sub: str | None
    options: Mapping[str, str | int]


def _update_add(place: Place, n: int, spec: ItemSpec) -> Command:
    stage = place.stages[place.updates % 2]
    place.updates += 1
    summary = f"Bench stage change {n}: {stage}"
    return Command("update", "add", {"item": spec.key, "summary": summary, "stage": stage})


def _deadline_add(place: Place, n: int, spec: ItemSpec) -> Command:
    # Ahead enough to be planned with every offset; a minute apart so no two are alike.
    due = datetime.now(spec.timezone) + timedelta(days=60, minutes=n)
    options = {"item": spec.key, "title": f"Bench deadline {n}", "when": f"{due:%Y-%m-%d %H:%M}"}
    return Command("deadline", "add", options)


def _setup_reminders(place: Place, n: int, spec: ItemSpec) -> Command:
    place.offsets += 1
    return Command("setup", "reminders", {"offsets": OFFSETS[place.offsets % 2]})


def _setup_language(place: Place, n: int, spec: ItemSpec) -> Command:
    place.korean = not place.korean
    return Command("setup", "language", {"language": "ko" if place.korean else "en"})


@dataclass(frozen=True, slots=True)
class Kind:
    label: str
    audit_action: str  # what each one records: the count checks that each did its work
    make: Callable[[Place, int, ItemSpec], Command]


# Every command is a one-guild change; the shared one is the bench's own (see above).
KINDS = (
    Kind("/update add (stage)", "event.add", _update_add),
    Kind("/deadline add", "deadline.add", _deadline_add),
    Kind("/setup reminders", "setup.reminders", _setup_reminders),
    Kind("/setup language", "setup.language", _setup_language),
)


@dataclass
class Figures:
    backend: str
    guilds: int
    rounds: int
    filled: float
    ready: float
    status: list[float] = field(default_factory=list)
    replies: dict[str, list[float]] = field(default_factory=dict)
    background: dict[str, list[float]] = field(default_factory=dict)
    # The shared stage change: replan_item's times, and the owed reminders each moved.
    shared: list[float] = field(default_factory=list)
    rewritten: dict[str, set[Rewrite]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def shared_label(self) -> str:
        return f"shared stage change ({self.guilds:,} guilds)"


@dataclass(frozen=True, slots=True)
class Rewrite:
    """What one shared change did to the store-only guilds' reminders of the item."""

    deleted: int
    inserted: int
    guilds: int  # store-only guilds given every one of the new deadlines' reminders


class Tally(logging.Handler):
    """What the run logged at WARNING and above (a failed re-plan is logged, not raised)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[tuple[str, str]] = Counter()
        self.errors = 0
        self.last_error = ""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()[:160]
        self.seen[(record.levelname, message)] += 1
        if record.levelno >= logging.ERROR:
            self.errors += 1
            self.last_error = message


# --- the run ---------------------------------------------------------------------------------


def _reversible_step(spec: ItemSpec, stage: str | None) -> str:
    """A stage the rules allow after ``stage`` and that allows ``stage`` again after it."""
    transitions = spec.rules.transitions
    for candidate in spec.rules.stages:
        if candidate in transitions.get(stage, frozenset()) and stage in transitions.get(
            candidate, frozenset()
        ):
            return candidate
    raise SystemExit(f"{spec.key}: no stage leads from {stage!r} and back; pick another item")


def _add_place(standin: DiscordStandIn, n: int) -> Place:
    guild = standin.add_guild(f"Bench {n}")
    admins = guild.add_role("Admins", Perm.MANAGE_GUILD)
    return Place(
        guild=guild,
        channel=guild.channel_named("general"),
        reminders=guild.add_channel("reminders"),
        admin=guild.add_member("Admin", roles=[admins]),
    )


async def _ask(standin: DiscordStandIn, place: Place, command: Command) -> InteractionRecord:
    interaction = await standin.invoke(
        place.guild.id,
        place.channel,
        place.admin,
        command.name,
        options=command.options,
        subcommand=command.sub,
    )
    await interaction.response(timeout=REPLY_TIMEOUT)
    return interaction


async def _audit_counts(bot: MotionwatchBot, guild_ids: list[int]) -> Counter[str]:
    stmt = (
        select(AuditLog.action, func.count())
        .where(col(AuditLog.guild_id).in_(guild_ids))
        .group_by(col(AuditLog.action))
    )
    async with bot.services.sessions() as session:
        return Counter({action: n for action, n in (await session.exec(stmt)).all()})


async def _unsound(
    bot: MotionwatchBot, places: list[Place], spec: ItemSpec, before: Counter[str], rounds: int
) -> list[str]:
    """What says that a command did not do its work: a refusal logs nothing, and is quick."""
    problems = []
    done = await _audit_counts(bot, [place.guild.id for place in places])
    for kind in KINDS:
        got = done[kind.audit_action] - before[kind.audit_action]
        if got != WARMUP_ROTATIONS + rounds:
            problems.append(f"{kind.label}: {got} changes audited, not {WARMUP_ROTATIONS + rounds}")
    for place in places:
        (status,) = await statuses(bot.services, guild_id=place.guild.id, item=spec, now=bot.now())
        want = place.stages[(place.updates - 1) % 2]
        if place.updates and status.assessment.stage != want:
            problems.append(f"{place.guild.name}: stage {status.assessment.stage}, not {want}")
    return problems


# --- the shared stage change ----------------------------------------------------------------

Pair = tuple[str, datetime]  # a deadline: its key and its time


async def _shared_deadlines(session: AsyncSession, item_id: int) -> set[Pair]:
    stmt = select(PlannedDeadline.deadline_key, PlannedDeadline.deadline_at).where(
        PlannedDeadline.scope == SHARED,
        PlannedDeadline.item_id == item_id,
        col(PlannedDeadline.custom_id).is_(None),
    )
    return {(key, at) for key, at in (await session.exec(stmt)).all()}


async def _owed_by_deadline(
    session: AsyncSession, item_id: int, skip: list[int], now: datetime
) -> dict[Pair, tuple[int, int]]:
    """The item's owed reminders in the store-only guilds: reminders and guilds per deadline
    (worked out from the plan, as the sweep does)."""
    key = ITEM
    rows: dict[Pair, tuple[int, set[int]]] = {}
    deadlines = {k: at for k, at in await _shared_deadlines(session, item_id)}
    for guild, deadline_key, _, _ in await upcoming(session, now=now):
        if guild in skip or not deadline_key.startswith(f"{key}/"):
            continue
        pair = (deadline_key, deadlines.get(deadline_key, now))
        count, guilds = rows.get(pair, (0, set()))
        guilds.add(guild)
        rows[pair] = (count + 1, guilds)
    return {pair: (count, len(guilds)) for pair, (count, guilds) in rows.items()}


async def _record_shared(bot: MotionwatchBot, item_id: int, event_id: int | None) -> int:
    """Record the shared stage change (``event_id`` None) or withdraw it; returns its id."""
    now = bot.now()
    async with writing(bot.services.sessions) as session:
        if event_id is None:
            event = TimelineEvent(
                item_id=item_id,
                guild_id=None,
                stage=SHARED_STAGE,
                occurred_at=now - timedelta(hours=1),
                precision="datetime",
                summary_en="Bench: the official record of a termination notice",
                recorded_at=now,
            )
        else:
            found = await session.get(TimelineEvent, event_id)
            assert found is not None
            event = found
            event.deleted_at = now
            event.delete_reason = "Bench: withdrawn from the official record"
        session.add(event)
        await session.flush()
        # What any writer of the shared history does: every guild's cached reads of the
        # item are dropped (storage/notify.py). Not timed: it is the write, not the re-plan.
        await bot.services.changed(session, Scope.item(item_id))
        await session.commit()
        assert event.id is not None
        return event.id


async def _shared_change(
    bot: MotionwatchBot, item_id: int, skip: list[int], withdraw: int | None
) -> tuple[int, float, Rewrite | str]:
    """Record the shared change (or, given its id, withdraw it), then time ``replan_item``.

    Returns the event's id, the re-plan's time, and what it rewrote or why it is unsound.
    """
    async with bot.services.sessions() as session:
        deadlines = await _shared_deadlines(session, item_id)
        owed = await _owed_by_deadline(session, item_id, skip, bot.now())
    event_id = await _record_shared(bot, item_id, withdraw)
    started = time.perf_counter()
    await bot.reminders.replan_item(item_id)
    took = time.perf_counter() - started
    async with bot.services.sessions() as session:
        moved = await _shared_deadlines(session, item_id)
        now_owed = await _owed_by_deadline(session, item_id, skip, bot.now())
    if moved == deadlines:
        return event_id, took, f"shared deadlines did not move: {sorted(moved)}"
    if set(now_owed) != moved:
        return event_id, took, f"reminders for {sorted(now_owed)}, deadlines {sorted(moved)}"
    deleted = sum(owed[pair][0] for pair in set(owed) - moved)
    inserted = sum(now_owed[pair][0] for pair in moved - set(owed))
    return event_id, took, Rewrite(deleted, inserted, min(g for _, g in now_owed.values()))


async def _shared_round(
    bot: MotionwatchBot,
    figures: Figures,
    item_id: int,
    skip: list[int],
    tally: Tally,
    *,
    measured: bool,
) -> bool:
    """The shared change and its withdrawal, each timed; False once the run is unsound."""
    errors_before = tally.errors
    withdraw: int | None = None
    for way in ("recorded", "withdrawn"):
        withdraw, took, outcome = await _shared_change(bot, item_id, skip, withdraw)
        if tally.errors > errors_before:
            outcome = f"logged an error: {tally.last_error}"
        if isinstance(outcome, str):
            figures.problems.append(f"shared change {way}: {outcome}")
            return False
        if measured:
            figures.shared.append(took)
            figures.rewritten.setdefault(way, set()).add(outcome)
    return True


async def measure(
    url: str, tracker: TrackerConfig, guilds: int, rounds: int, tally: Tally
) -> Figures:
    spec = resolve_item(tracker.items, ITEM)
    assert spec is not None
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        # The guilds in the stand-in are set up through /setup below and count among them.
        await fill(
            engine,
            session_factory(engine),
            tracker,
            events_per_item=0,
            guilds=guilds - IN_STANDIN,
            offsets=OFFSETS[0],
        )
    finally:
        await engine.dispose()
    figures = Figures(url.split(":")[0], guilds, rounds, time.perf_counter() - started, 0.0)
    errors_before = tally.errors
    async with DiscordStandIn() as standin:
        places = [_add_place(standin, n) for n in range(IN_STANDIN)]
        started = time.perf_counter()
        async with running_bot(
            standin, database_url=url, tracker=tracker, ready_timeout=READY_TIMEOUT
        ) as bot:
            figures.ready = time.perf_counter() - started
            for place in places:
                channel: dict[str, str | int] = {"purpose": "reminders", "channel": place.reminders}
                await _ask(standin, place, Command("setup", "channel", channel))
                await _ask(standin, place, Command("setup", "reminders", {"offsets": OFFSETS[0]}))
                (status,) = await statuses(
                    bot.services, guild_id=place.guild.id, item=spec, now=bot.now()
                )
                current = status.assessment.stage
                if current is None:
                    raise SystemExit(f"{spec.key} has no stage to change from; pick another item")
                place.stages = (_reversible_step(spec, current), current)
            await bot.after.drain()
            skip = [place.guild.id for place in places]
            item_id = bot.services.item_ids[spec.key]
            before = await _audit_counts(bot, skip)

            warmup = WARMUP_ROTATIONS * len(KINDS)
            for n in range(warmup + rounds * len(KINDS)):
                kind = KINDS[n % len(KINDS)]
                # Each guild gets every kind in turn, so each kind meets every guild.
                place = places[n // len(KINDS) % len(places)]
                asked = await _ask(standin, place, Command("status", None, {"item": spec.key}))
                await asyncio.sleep(PAUSE)
                changed = await _ask(standin, place, kind.make(place, n, spec))
                await bot.after.drain()
                finished = time.perf_counter()
                # A command that crashed still replies (quickly): stop at the first.
                if tally.errors > errors_before:
                    figures.problems.append(f"{kind.label} logged an error: {tally.last_error}")
                    break
                if n >= warmup:
                    assert asked.latency is not None and changed.latency is not None
                    assert changed.responded_at is not None
                    figures.status.append(asked.latency)
                    figures.replies.setdefault(kind.label, []).append(changed.latency)
                    figures.background.setdefault(kind.label, []).append(
                        finished - changed.responded_at
                    )
                if n % len(KINDS) == len(KINDS) - 1 and not await _shared_round(
                    bot, figures, item_id, skip, tally, measured=n >= warmup
                ):
                    break

            if not figures.problems:
                figures.problems += await _unsound(bot, places, spec, before, rounds)
        figures.problems += [f"stand-in: {v}" for v in standin.violations]
    return figures


# --- the report ------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def report(figures: Figures) -> int:
    """Print the figures and the targets; return how many targets failed."""
    if figures.problems:
        print(f"\n{figures.backend}: not measured")
        for problem in figures.problems:
            print(f"RUN NOT SOUND: {problem}")
        return 0
    status50 = percentile(figures.status, 0.5)
    print(
        f"\n{figures.guilds} guilds with a reminders channel and 4 offsets, "
        f"{IN_STANDIN} of them in the stand-in; item {ITEM!r} ({figures.backend}; "
        f"store filled in {figures.filled:.1f} s, bot ready in {figures.ready:.1f} s)"
    )
    print(
        f"{figures.rounds} rounds per command, each after a /status in the same guild, "
        f"after {WARMUP_ROTATIONS} warm-up rounds per command"
    )
    shared = figures.shared_label
    width = max(21, len(shared) + 1)
    print(
        f"{'command':<{width}}{'reply p50':>12}{'reply p99':>12}{'p50 ratio':>11}"
        f"{'background p50':>16}{'background max':>16}"
    )
    print(
        f"{'/status':<{width}}{_ms(status50)}{_ms(percentile(figures.status, 0.99))}"
        f"{1.0:11.2f}{'-':>16}{'-':>16}"
    )
    for kind in KINDS:
        replies, background = figures.replies[kind.label], figures.background[kind.label]
        print(
            f"{kind.label:<{width}}{_ms(percentile(replies, 0.5))}"
            f"{_ms(percentile(replies, 0.99))}{percentile(replies, 0.5) / status50:11.2f}"
            f"   {_ms(percentile(background, 0.5))}   {_ms(max(background))}"
        )
    print(
        f"{shared:<{width}}{'-':>12}{'-':>12}{'-':>11}"
        f"   {_ms(percentile(figures.shared, 0.5))}   {_ms(max(figures.shared))}"
    )
    print(
        f"{shared}: {len(figures.shared)} re-plans of {ITEM!r} (replan_item), one notice "
        f"recorded and withdrawn after each rotation of the commands; the {IN_STANDIN} "
        "stand-in guilds keep their own history of it"
    )
    for way, rewrites in figures.rewritten.items():
        for r in sorted(rewrites, key=lambda r: (r.deleted, r.inserted, r.guilds)):
            print(
                f"  notice {way}: {r.deleted + r.inserted:,} owed reminders moved "
                f"({r.deleted:,} no longer owed, {r.inserted:,} newly owed) for {r.guilds:,} "
                "guilds, by rewriting the item's few planned deadlines"
            )

    failed = 0

    def verdict(ok: bool) -> str:
        nonlocal failed
        failed += not ok
        return "PASS" if ok else "FAIL   <<<<<"

    print(f"targets ({figures.backend}):")
    print(f"  moderator reply p50 <= {RATIO_TARGET} x /status p50 ({_ms(status50).strip()}):")
    for kind in KINDS:
        ratio = percentile(figures.replies[kind.label], 0.5) / status50
        print(f"    {kind.label:<{width}}{ratio:9.2f}     {verdict(ratio <= RATIO_TARGET)}")
    print(
        f"  a one-guild change fully re-planned in <= {ONE_GUILD_TARGET * 1000:.0f} ms "
        "(background max):"
    )
    for kind in KINDS:
        slowest = max(figures.background[kind.label])
        print(f"    {kind.label:<{width}}{_ms(slowest)}  {verdict(slowest <= ONE_GUILD_TARGET)}")
    print(
        f"  a shared item's stage change fully re-planned for {figures.guilds:,} guilds "
        f"in <= {SHARED_TARGET * 1000:.0f} ms (background max):"
    )
    slowest = max(figures.shared)
    print(f"    {shared:<{width}}{_ms(slowest)}  {verdict(slowest <= SHARED_TARGET)}")
    return failed


# --- PostgreSQL: a database of the bench's own -----------------------------------------------


def _admin_dsn(server: str) -> str:
    return (
        make_url(normalize_database_url(server))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


async def _unreachable(server: str) -> str | None:
    """Why the server cannot be used, or None."""
    try:
        conn = await asyncpg.connect(_admin_dsn(server), timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


async def create_pg_database(server: str) -> str:
    """A new, empty database on ``server``; returns its asyncpg URL."""
    # A name of its own, so that a bench never meets (or drops) someone's data.
    name = f"mw_wbench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_admin_dsn(server))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = make_url(normalize_database_url(server)).set(database=name)
    return url.render_as_string(hide_password=False)


async def drop_pg_database(server: str, url: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(server))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


# --- main ------------------------------------------------------------------------------------


async def main(backend: str, rounds: int, guilds: int, server: str) -> int:
    tally = Tally()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().addHandler(tally)
    logging.getLogger("discord.client").setLevel(logging.ERROR)
    if guilds < IN_STANDIN or rounds < 1:
        raise SystemExit(f"--guilds must be at least {IN_STANDIN} and --rounds at least 1")
    # Nothing may reach the configured outlets: the news poll never runs here anyway.
    tracker = load_tracker(ROOT / "config" / "tracker.toml").without_sources()
    failed, sound = 0, True
    if backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            figures = await measure(url, tracker, guilds, rounds, tally)
        failed += report(figures)
        sound = sound and not figures.problems
    if backend in ("postgresql", "both"):
        shown = make_url(normalize_database_url(server)).render_as_string(hide_password=True)
        reason = await _unreachable(server)
        if reason is not None:
            print(f"\nPostgreSQL at {shown} not reachable ({reason}): not measured")
            sound = sound and backend == "both"
        else:
            url = await create_pg_database(server)
            try:
                figures = await measure(url, tracker, guilds, rounds, tally)
            finally:
                await drop_pg_database(server, url)
            failed += report(figures)
            sound = sound and not figures.problems
    for (level, message), times in tally.seen.most_common():
        print(f"logged {times} x {level}: {message!r}")
    if not sound:
        print("\n*** RUN NOT SOUND: see above; no figure of it counts ***")
    elif failed:
        print(f"\n*** {failed} TARGET(S) FAILED: the lines marked FAIL above ***")
    else:
        print("\nall targets met")
    return 0 if sound else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=40, help="measured runs per command")
    parser.add_argument("--guilds", type=int, default=10_000)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL", "").strip() or DEFAULT_PG,
        help="a server and a database on it to connect to while creating the bench's own",
    )
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.backend, args.rounds, args.guilds, args.postgres_url)))
