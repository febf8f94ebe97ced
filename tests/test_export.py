"""/export (SPEC §3): the ics file holds exactly the deadlines /deadlines shows, with the feed's
UIDs; csv and json give the timeline with every field and read back exactly, hostile text
included; the real bot answers with an attachment, and /setup calendar is for administrators."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import col, select

from config.settings import Settings
from config.tracker import load_tracker
from demo.harness import running_bot
from exporting.ics import build_calendar
from exporting.tabular import from_csv, from_json, to_csv, to_json
from motionwatch_standin import CallbackRecord, DiscordStandIn, Guild, Perm
from runtime.startup import prepare_database
from services import calendar
from services.build import build_services
from services.context import Services
from services.exports import deadlines_export, timeline_export
from services.moderation import add_deadline, add_update, edit_update
from services.reading import upcoming_deadlines
from storage.engine import create_engine, session_factory
from storage.models import CalendarSecret, TimelineEvent
from tests.calendars import vevents
from tests.conftest import E2E_NOW, ROOT
from tracker.items import ItemSpec
from views.export import EXPORT_FIELDS, ExportedEvent

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 11, 23, 9, tzinfo=KST)
GUILD = 4_000_000_000_000_000_001
OTHER = 4_000_000_000_000_000_002
MOD = 900_000_000_000_000_001

HOSTILE = [
    'He said "no", then, "yes"',
    "line one\nline two\r\nline three\rfour",
    "해임건의안, 표결 \u201c부결\u201d",
    "\u202eRTL override\u202c and \u200fmark\u200e",
    '=HYPERLINK("http://evil"),+1,-1,@SUM(A1)',
    "",
    " leading and trailing spaces ",
    '"',
    ",",
    "x" * 4000,
]


def _event(n: int, text: str | None, **over: Any) -> ExportedEvent:
    base = ExportedEvent(
        id=n,
        item_key="gsomia",
        guild_id=None if n % 2 else 2**63 - 1,
        occurred_at=datetime(2019, 8, 22, 15, 30, 0, 123456, tzinfo=UTC),
        precision="datetime" if n % 2 else "date",
        stage=None if n % 3 else "termination_notified",
        summary_en=text if text is not None else "plain",
        summary_ko=text,
        source_name=text,
        source_url=None if text is None else f'https://example.org/a?q={n}&t="{n}",x',
        recorded_by=None if n % 2 else 123456789012345678,
        recorded_at=datetime(2026, 11, 23, tzinfo=UTC),
        revision=n + 1,
        updated_at=None if n % 2 else datetime(2026, 11, 24, 1, 2, 3, tzinfo=UTC),
        updated_by=None if n % 2 else 876543210987654321,
    )
    return replace(base, **over)


def test_csv_and_json_read_back_every_field_of_hostile_events() -> None:
    events = [_event(n, text) for n, text in enumerate([*HOSTILE, None])]
    assert from_csv(to_csv(events)) == events
    assert from_json(to_json(events)) == events
    assert from_csv(to_csv([])) == [] and from_json(to_json([])) == []


def test_the_csv_is_ordinary_csv() -> None:
    """Any CSV reader gets the same rows (None reads as an empty cell there)."""
    events = [_event(n, text) for n, text in enumerate(HOSTILE)]
    text = to_csv(events).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == EXPORT_FIELDS
    assert [r[EXPORT_FIELDS.index("summary_en")] for r in rows[1:]] == [
        e.summary_en for e in events
    ]


# -- through the store ------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    engine = create_engine(database_url)
    prepared = await prepare_database(engine, session_factory(engine), items=tracker.items)
    async with httpx.AsyncClient() as http:
        yield build_services(
            Settings(_env_file=None, database_url=database_url),
            tracker,
            http=http,
            engine=engine,
            clock=Clock(NOW),
            item_ids=prepared.item_ids,
        )
    await engine.dispose()


def _item(services: Services, key: str) -> ItemSpec:
    spec = services.tracker.item(key)
    assert spec is not None
    return spec


async def test_timeline_export_has_every_stored_field_and_reads_back(services: Services) -> None:
    gsomia = _item(services, "gsomia")
    for n, text in enumerate(t for t in HOSTILE if t.strip()):
        change = await add_update(
            services,
            guild_id=GUILD,
            actor_id=MOD,
            item=gsomia,
            summary=text.replace("\r", "")[:1000].strip(),
            stage=None,
            when=f"2025-0{n % 9 + 1}-1{n % 10} 10:0{n % 10}",
            source_url=f'https://example.org/{n}?a=1,b="2"',
            source_name=" ".join(text.split())[:200] or None,
            now=NOW,
        )
        if n % 2:
            await edit_update(
                services,
                guild_id=GUILD,
                actor_id=MOD + 1,
                event_id=change.event.id,
                summary=f"edited {text.replace(chr(13), '')[:900]}".strip(),
                stage=None,
                when=None,
                source_url=None,
                now=NOW + timedelta(minutes=n),
            )
    await add_update(
        services,
        guild_id=OTHER,
        actor_id=MOD,
        item=gsomia,
        summary="another server's note",
        stage=None,
        when=None,
        source_url=None,
        source_name=None,
        now=NOW,
    )

    exported = await timeline_export(services, guild_id=GUILD, item=gsomia)

    async with services.sessions() as session:
        rows = (
            await session.exec(
                select(TimelineEvent).where(
                    col(TimelineEvent.item_id) == services.item_ids["gsomia"],
                    col(TimelineEvent.guild_id).is_(None) | (col(TimelineEvent.guild_id) == GUILD),
                )
            )
        ).all()
    assert sorted(e.id for e in exported) == sorted(r.id for r in rows if r.id is not None)
    stored = {r.id: r for r in rows}
    for event in exported:
        row = stored[event.id]
        for name in EXPORT_FIELDS:
            if name != "item_key":
                assert getattr(event, name) == getattr(row, name), name
    assert any(e.revision == 2 and e.updated_by == MOD + 1 for e in exported)
    assert any(e.guild_id is None for e in exported) and any(e.guild_id == GUILD for e in exported)
    assert from_csv(to_csv(exported)) == exported
    assert from_json(to_json(exported)) == exported
    # Every item when none is named: the motion's history too.
    everything = await timeline_export(services, guild_id=GUILD, item=None)
    assert {e.item_key for e in everything} == {"gsomia", "han-minkoo-dismissal"}


async def test_ics_export_is_exactly_what_deadlines_shows(services: Services) -> None:
    gsomia = _item(services, "gsomia")
    for title, when in [("Hearing", "2027-01-15 14:00"), ('공청회, "최종"', "2027-03-01")]:
        await add_deadline(
            services, guild_id=GUILD, actor_id=MOD, item=gsomia, title=title, when=when, now=NOW
        )
    await add_deadline(
        services,
        guild_id=OTHER,
        actor_id=MOD,
        item=gsomia,
        title="Not ours",
        when="2027-02-01",
        now=NOW,
    )
    entries = await deadlines_export(services, guild_id=GUILD, item=None, now=NOW)
    events = vevents(build_calendar(entries, language="en"))
    shown = await upcoming_deadlines(services, guild_id=GUILD, item=None, now=NOW)
    assert len(events) == len(shown) == 4
    assert sorted(e.start for e in events) == sorted(r.deadline.at for r in shown)
    assert all(e.start.tzinfo is not None and e.start.utcoffset() == timedelta(0) for e in events)
    assert len({e.uid for e in events}) == 4
    summaries = {e.summary for e in events}
    assert '공청회, "최종" · South Korea–Japan GSOMIA' in summaries
    assert "Not ours · South Korea–Japan GSOMIA" not in summaries
    # The same UIDs on the next export, and the same as the guild's feed gives.
    again = await deadlines_export(services, guild_id=GUILD, item=gsomia, now=NOW)
    assert {e.uid for e in again} == {e.uid for e in events}
    motion = _item(services, "han-minkoo-dismissal")
    assert await deadlines_export(services, guild_id=GUILD, item=motion, now=NOW) == []


# -- the real bot ---------------------------------------------------------------------------


@dataclass
class Server:
    standin: DiscordStandIn
    guild: Guild
    channel: int
    member: int
    admin: int
    bot: Any

    async def ask(
        self, user: int, name: str, sub: str | None = None, **options: str | int
    ) -> CallbackRecord:
        interaction = await self.standin.invoke(
            self.guild.id, self.channel, user, name, options=options or None, subcommand=sub
        )
        return await interaction.response()


@pytest.fixture
async def server(standin: DiscordStandIn, database_url: str) -> AsyncIterator[Server]:
    guild = standin.add_guild("Korea Watchers")
    channel = guild.channel_named("general")
    admin_role = guild.add_role("Admins", Perm.MANAGE_GUILD)
    member = guild.add_member("Mina")
    admin = guild.add_member("Seo", roles=[admin_role])
    async with running_bot(
        standin,
        database_url=database_url,
        tracker=load_tracker(ROOT / "config" / "tracker.toml"),
        clock=lambda: E2E_NOW,
        public_url="https://mw.example.org/",
    ) as bot:
        yield Server(standin, guild, channel, member, admin, bot)


async def test_export_commands_are_synced_with_korean_names(server: Server) -> None:
    commands = {c["name"]: c for c in server.standin.commands()}
    export = commands["export"]
    assert export["name_localizations"]["ko"] == "내보내기"
    fmt = export["options"][0]
    assert fmt["name_localizations"]["ko"] == "형식"
    assert [c["value"] for c in fmt["choices"]] == ["ics", "csv", "json"]
    (calendar_cmd,) = [o for o in commands["setup"]["options"] if o["name"] == "calendar"]
    assert calendar_cmd["name_localizations"]["ko"] == "캘린더"


async def test_export_ics_answers_a_member_with_an_attachment(server: Server) -> None:
    reply = await server.ask(server.member, "export", format="ics")
    assert reply.ephemeral
    (attachment,) = reply.attachments
    assert attachment.filename == "motionwatch-all-deadlines.ics"
    starts = sorted(e.start for e in vevents(attachment.data))
    services = server.bot.services
    shown = await upcoming_deadlines(
        services, guild_id=server.guild.id, item=None, now=server.bot.now()
    )
    assert starts == sorted(r.deadline.at for r in shown) and starts
    assert (
        reply.content
        == f"The upcoming deadlines of this server, as an iCalendar file ({len(starts)} events)."
    )

    # Once the guild has a calendar secret, the reply gives the subscription link too.
    shown_link = await server.ask(server.admin, "setup", "calendar", action="show")
    async with services.sessions() as session:
        row = await session.get(CalendarSecret, server.guild.id)
    assert row is not None
    url = f"https://mw.example.org/calendar/{row.secret}.ics"
    assert shown_link.ephemeral and f"<{url}>" in (shown_link.content or "")
    linked = await server.ask(server.member, "export", format="ics")
    assert f"subscribe to: <{url}>" in (linked.content or "")


async def test_export_csv_and_json_attachments_read_back(server: Server) -> None:
    for fmt, read in (("csv", from_csv), ("json", from_json)):
        reply = await server.ask(server.member, "export", format=fmt, item="gsomia")
        (attachment,) = reply.attachments
        assert attachment.filename == f"motionwatch-gsomia-timeline.{fmt}"
        events = read(attachment.data)
        expected = await timeline_export(
            server.bot.services, guild_id=server.guild.id, item=_item(server.bot.services, "gsomia")
        )
        assert events == expected and events
    unknown = await server.ask(server.member, "export", format="csv", item="nope")
    assert unknown.ephemeral and not unknown.attachments and "nope" in (unknown.content or "")


async def test_setup_calendar_rotate_by_an_admin_refused_to_a_member(server: Server) -> None:
    services = server.bot.services
    refused = await server.ask(server.member, "setup", "calendar", action="show")
    assert (
        refused.content == "Only administrators (Manage Server) can do this; nothing was changed."
    )
    assert await calendar.existing_secret(services, guild_id=server.guild.id) is None
    refused = await server.ask(server.member, "setup", "calendar", action="rotate")
    assert (
        refused.content == "Only administrators (Manage Server) can do this; nothing was changed."
    )

    first = await server.ask(server.admin, "setup", "calendar", action="show")
    old = await calendar.existing_secret(services, guild_id=server.guild.id)
    assert old is not None and old in (first.content or "")
    rotated = await server.ask(server.admin, "setup", "calendar", action="rotate")
    new = await calendar.existing_secret(services, guild_id=server.guild.id)
    assert new is not None and new != old
    assert rotated.content == (
        "The calendar link was replaced; the old one no longer works. "
        f"New link: <https://mw.example.org/calendar/{new}.ics>"
    )
    assert await calendar.guild_for_secret(services, old) is None
    assert await calendar.guild_for_secret(services, new) == server.guild.id
