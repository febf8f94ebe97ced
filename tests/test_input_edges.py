"""Values at the edges of what a member can type (issue 10, SPEC §3 bad input).

Each is refused at the edge with the field named, ephemerally, and nothing is
stored, on SQLite and on PostgreSQL: dates at the ends of the calendar, ids
beyond the database's INTEGER, control characters (PostgreSQL refuses NUL in
text), absurd reminder offsets, oversized item names. Each test walks a table
of cases with one bot, so the file stays fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import func, select

from config.tracker import load_tracker
from demo.harness import running_bot
from discordbot.bot import MotionwatchBot
from motionwatch_standin import CallbackRecord, DiscordStandIn, Guild, Perm, StandInUsageError
from services import moderation
from services import validation as check
from services.errors import UserError
from storage.models import AuditLog, CustomDeadline, EventRevision, GuildSettings, TimelineEvent
from tests.conftest import E2E_NOW, ROOT

INT32_MAX = 2**31 - 1
# The largest integer a Discord integer option can carry.
DISCORD_INT_MAX = 2**53
RANGE = "is outside the accepted range; give a date from 1900-01-01 to 2200-12-31."


@dataclass
class Edge:
    standin: DiscordStandIn
    guild: Guild
    channel: int
    admin: int
    bot: MotionwatchBot

    async def ask(self, name: str, sub: str | None = None, **options: Any) -> CallbackRecord:
        interaction = await self.standin.invoke(
            self.guild.id, self.channel, self.admin, name, options=options or None, subcommand=sub
        )
        return await interaction.response()

    async def store(self) -> dict[str, object]:
        async with self.bot.services.sessions() as session:
            counts: dict[str, object] = {
                model.__name__: (await session.exec(select(func.count()).select_from(model))).one()
                for model in (TimelineEvent, EventRevision, AuditLog, CustomDeadline)
            }
            events = (await session.exec(select(TimelineEvent))).all()
            settings = await session.get(GuildSettings, self.guild.id)
        counts["events"] = sorted(
            (e.id, e.summary_en, e.stage, e.occurred_at, e.source_url, e.deleted_at) for e in events
        )
        counts["settings"] = settings.model_dump() if settings else None
        return counts

    async def new_event(self) -> int:
        reply = await self.ask("update", "add", item="gsomia", summary="Target")
        assert reply.content is not None and reply.content.startswith("Recorded as #")
        return int(reply.content.split("#")[1].split(" ")[0])

    async def refused(
        self, cases: Sequence[tuple[str, str | None, dict[str, Any], str]]
    ) -> list[str]:
        """Each case's problem, if any: not ephemeral, not the message, or something stored."""
        problems = []
        for name, sub, options, message in cases:
            before = await self.store()
            reply = await self.ask(name, sub, **options)
            label = f"/{name} {sub} {options!r}"
            if not reply.ephemeral:
                problems.append(f"{label}: not ephemeral")
            if not (reply.content or "").startswith(message):
                problems.append(f"{label}: {reply.content!r} does not start with {message!r}")
            if await self.store() != before:
                problems.append(f"{label}: something was stored")
        return problems


@pytest.fixture
async def edge(standin: DiscordStandIn, database_url: str) -> AsyncIterator[Edge]:
    guild = standin.add_guild("Korea Watchers")
    admin = guild.add_member("Seo", roles=[guild.add_role("Admins", Perm.MANAGE_GUILD)])
    async with running_bot(
        standin,
        database_url=database_url,
        tracker=load_tracker(ROOT / "config" / "tracker.toml"),
        clock=lambda: E2E_NOW,
    ) as bot:
        yield Edge(standin, guild, guild.channel_named("general"), admin, bot)


# -- dates -----------------------------------------------------------------------------------------


async def test_dates_beyond_the_accepted_range_are_refused(edge: Edge) -> None:
    own = await edge.new_event()
    low, high = "0001-01-01", "9999-12-31T23:59:59-12:00"
    gsomia = {"item": "gsomia", "summary": "ok"}
    cases: list[tuple[str, str, dict[str, Any], str]] = []
    for when in (low, high, "1899-12-31", "2201-01-01 00:00", "9999-12-31"):
        message = f"when: '{when}' {RANGE}"
        cases += [
            ("update", "add", gsomia | {"when": when}, message),
            ("update", "edit", {"event_id": own, "when": when}, message),
            ("deadline", "add", {"item": "gsomia", "title": "t", "when": when}, message),
        ]
    # A stage change so late that the rules would compute deadlines past datetime.max.
    late = {"stage": "termination_notified", "when": "9999-06-01"}
    cases += [
        ("update", "add", gsomia | late, f"when: '9999-06-01' {RANGE}"),
        ("update", "edit", {"event_id": own} | late, f"when: '9999-06-01' {RANGE}"),
    ]
    assert await edge.refused(cases) == []


async def test_dates_at_the_ends_of_the_range_are_accepted(edge: Edge) -> None:
    # With a reminders channel, every deadline's reminders are planned too.
    reminders = edge.guild.add_channel("reminders")
    await edge.ask("setup", "channel", purpose="reminders", channel=reminders)
    early = await edge.ask("update", "add", item="gsomia", summary="Early", when="1900-01-01")
    assert (early.content or "").startswith("Recorded as #"), early.content
    # A stage change in the last accepted year: its deadlines fall in the year after.
    late = await edge.ask(
        "update",
        "add",
        item="gsomia",
        summary="Late",
        stage="termination_notified",
        when="2200-12-31T23:59-12:00",
    )
    assert (late.content or "").startswith("Recorded as #"), late.content
    due = await edge.ask("deadline", "add", item="gsomia", title="Far", when="2200-12-31 23:59")
    assert (due.content or "").startswith("Custom deadline #"), due.content
    status = await edge.ask("status", item="gsomia")
    assert status.embeds and status.embeds[0]["title"] == "South Korea–Japan GSOMIA"
    deadlines = await edge.ask("deadlines", item="gsomia")
    assert deadlines.embeds, deadlines.content
    async with edge.bot.services.sessions() as session:
        summaries = {e.summary_en for e in (await session.exec(select(TimelineEvent))).all()}
    assert {"Early", "Late"} <= summaries


# -- integers --------------------------------------------------------------------------------------

ID_OPTIONS = [
    ("update", "edit", "event_id"),
    ("update", "remove", "event_id"),
    ("deadline", "remove", "deadline_id"),
    ("timeline", None, "page"),
]


def _option(commands: list[dict[str, Any]], name: str, sub: str | None, option: str) -> Any:
    (command,) = [c for c in commands if c["name"] == name]
    options = command.get("options") or []
    if sub is not None:
        (group,) = [o for o in options if o["name"] == sub]
        options = group.get("options") or []
    (found,) = [o for o in options if o["name"] == option]
    return found


async def test_integer_options_stay_within_the_database_integer(edge: Edge) -> None:
    s = edge
    commands = s.standin.commands() + s.standin.commands(s.guild.id)
    own = await s.new_event()
    before = await s.store()
    for name, sub, option in ID_OPTIONS:
        definition = _option(commands, name, sub, option)
        assert definition["min_value"] == 1 and definition["max_value"] <= INT32_MAX, definition
        extra: dict[str, Any] = {"reason": "r"} if sub == "remove" and name == "update" else {}
        # Discord's client refuses a value outside the declared range; so does the stand-in.
        with pytest.raises(StandInUsageError, match="outside"):
            await s.ask(name, sub, **{option: DISCORD_INT_MAX} | extra)
    assert await s.store() == before
    # The largest id the column holds is an ordinary unknown id, on PostgreSQL too.
    problems = await s.refused(
        [
            (
                "update",
                "edit",
                {"event_id": INT32_MAX, "summary": "ok"},
                f"event_id: there is no event #{INT32_MAX} in this server's timeline.",
            ),
            (
                "update",
                "remove",
                {"event_id": INT32_MAX, "reason": "r"},
                f"event_id: there is no event #{INT32_MAX}",
            ),
            (
                "deadline",
                "remove",
                {"deadline_id": INT32_MAX},
                f"deadline_id: there is no custom deadline #{INT32_MAX} in this server.",
            ),
            ("timeline", None, {"item": "gsomia", "page": 100000}, "page: must be between 1 and "),
        ]
    )
    assert problems == []
    assert own


async def test_the_services_refuse_ids_beyond_the_column(edge: Edge) -> None:
    """Buttons and other callers reach the services without Discord's range check."""
    s = edge
    services, guild_id, actor = s.bot.services, s.guild.id, s.admin
    before = await s.store()
    for bad in (0, -1, INT32_MAX + 1, DISCORD_INT_MAX):
        calls = [
            (
                "event_id",
                moderation.edit_update(
                    services,
                    guild_id=guild_id,
                    actor_id=actor,
                    event_id=bad,
                    summary="ok",
                    stage=None,
                    when=None,
                    source_url=None,
                    now=E2E_NOW,
                ),
            ),
            (
                "event_id",
                moderation.remove_update(
                    services,
                    guild_id=guild_id,
                    actor_id=actor,
                    event_id=bad,
                    reason="r",
                    now=E2E_NOW,
                ),
            ),
            (
                "deadline_id",
                moderation.remove_deadline(
                    services, guild_id=guild_id, actor_id=actor, deadline_id=bad
                ),
            ),
        ]
        for field, call in calls:
            with pytest.raises(UserError) as refused:
                await call
            assert refused.value.key == "invalid.id_range", (field, bad)
            assert refused.value.values == {"field": field, "max": INT32_MAX}
    assert await s.store() == before


# -- control characters ----------------------------------------------------------------------------


async def test_control_characters_are_refused_with_the_field_named(edge: Edge) -> None:
    own = await edge.new_event()
    gsomia = {"item": "gsomia", "summary": "ok"}
    url = "https://example.org/n"

    def control(field: str, code: int, position: int) -> str:
        return f"{field}: must not contain control characters (U+{code:04X} at {position})."

    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("update", "add", gsomia | {"summary": "a\x00b"}, control("summary", 0, 2)),
        ("update", "add", gsomia | {"summary": "a\x1b[31m"}, control("summary", 0x1B, 2)),
        ("update", "add", gsomia | {"summary": "a\x85b"}, control("summary", 0x85, 2)),
        (
            "update",
            "add",
            gsomia | {"source_url": "https://example.org/\x00", "source_name": "W"},
            control("source_url", 0, 21),
        ),
        (
            "update",
            "add",
            gsomia | {"source_url": url, "source_name": "Wire\x00"},
            control("source_name", 0, 5),
        ),
        (
            "update",
            "add",
            gsomia | {"source_url": url, "source_name": "Wire\nline"},
            control("source_name", 0x0A, 5),
        ),
        ("update", "add", gsomia | {"when": "2026-11-20\x00"}, control("when", 0, 11)),
        ("update", "add", gsomia | {"stage": "\x00"}, control("stage", 0, 1)),
        ("update", "edit", {"event_id": own, "summary": "\x00"}, control("summary", 0, 1)),
        (
            "update",
            "edit",
            {"event_id": own, "source_url": "https://example.org/\x07"},
            control("source_url", 7, 21),
        ),
        ("update", "edit", {"event_id": own, "when": "\x002026-11-20"}, control("when", 0, 1)),
        ("update", "remove", {"event_id": own, "reason": "spam\x00"}, control("reason", 0, 5)),
        (
            "deadline",
            "add",
            {"item": "gsomia", "title": "t\x00", "when": "2030-01-01"},
            control("title", 0, 2),
        ),
        (
            "deadline",
            "add",
            {"item": "gsomia", "title": "two\nlines", "when": "2030-01-01"},
            control("title", 0x0A, 4),
        ),
    ]
    assert await edge.refused(cases) == []
    # Line breaks and tabs are what a summary may hold besides.
    summary = "First line\nsecond line\twith a tab"
    reply = await edge.ask("update", "add", item="gsomia", summary=summary)
    assert (reply.content or "").startswith("Recorded as #"), reply.content
    async with edge.bot.services.sessions() as session:
        stored = {e.summary_en for e in (await session.exec(select(TimelineEvent))).all()}
    assert summary in stored


# -- /setup reminders and the item option ----------------------------------------------------------


async def test_absurd_offsets_and_item_names(edge: Edge) -> None:
    at_most = "must be more than 0 and at most 366d."
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("setup", "reminders", {"offsets": "99999999d"}, f"offsets: '99999999d' {at_most}"),
        ("setup", "reminders", {"offsets": "367d"}, f"offsets: '367d' {at_most}"),
        ("setup", "reminders", {"offsets": "9" * 5000 + "m"}, "offsets: '99999999"),
        ("setup", "reminders", {"offsets": "1d,\x00"}, "offsets: must not contain control"),
    ]
    assert await edge.refused(cases) == []
    accepted = await edge.ask("setup", "reminders", offsets="366d,527040m")
    assert accepted.content == "Reminders will come 366d before each deadline."
    # An item is a key or a name (at most 100 characters): Discord's client refuses longer text,
    # which the bot would otherwise echo back in a reply longer than a message may be.
    commands = edge.standin.commands() + edge.standin.commands(edge.guild.id)
    for name, sub in [
        ("status", None),
        ("deadlines", None),
        ("timeline", None),
        ("update", "add"),
        ("deadline", "add"),
    ]:
        assert _option(commands, name, sub, "item")["max_length"] == 100
    with pytest.raises(StandInUsageError, match="length"):
        await edge.ask("status", item="x" * 2500)
    # What is typed into an autocompleted option is only ever compared, never stored.
    for typed in ("\x00", "x" * 6000):
        choices = await edge.standin.autocomplete(
            edge.guild.id, edge.channel, edge.admin, "status", focused="item", value=typed
        )
        assert choices == []
        choices = await edge.standin.autocomplete(
            edge.guild.id,
            edge.channel,
            edge.admin,
            "update",
            subcommand="add",
            focused="stage",
            value=typed,
            options={"item": "gsomia", "summary": "s"},
        )
        assert choices == []


# -- the checks themselves -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a\x00", "\x7fa", "a\rb", "x\ud800"])
def test_multiline_text_refuses_controls_and_lone_surrogates(value: str) -> None:
    with pytest.raises(UserError) as refused:
        check.text("summary", value, check.SUMMARY_LIMIT, multiline=True)
    assert refused.value.key == "invalid.control"
    assert refused.value.values["field"] == "summary"


def test_multiline_text_keeps_newlines_and_tabs_single_line_text_does_not() -> None:
    assert check.text("summary", " a\nb\tc ", 100, multiline=True) == "a\nb\tc"
    with pytest.raises(UserError):
        check.text("title", "a\tb", 100)


@pytest.mark.parametrize("bad", [0, -5, INT32_MAX + 1, DISCORD_INT_MAX])
def test_row_id_bounds(bad: int) -> None:
    assert check.row_id("event_id", INT32_MAX) == INT32_MAX
    assert check.row_id("event_id", 1) == 1
    with pytest.raises(UserError) as refused:
        check.row_id("event_id", bad)
    assert refused.value.values == {"field": "event_id", "max": INT32_MAX}
