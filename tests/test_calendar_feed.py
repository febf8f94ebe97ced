"""GET /calendar/<secret>.ics (SPEC §8) over a real aiohttp server on loopback, both back ends:
every deadline to come once at its UTC instant, a moved one keeping its UID with a higher
SEQUENCE, one that no longer applies CANCELLED, passed ones gone, a rotated secret a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp import web
from sqlmodel import col, select, update

from config.settings import Settings
from config.tracker import load_tracker
from runtime.startup import prepare_database
from services import calendar
from services.build import build_services
from services.context import Services
from services.guild_setup import set_language
from services.moderation import add_deadline, add_update, edit_update, remove_deadline
from services.reading import upcoming_deadlines
from storage.engine import create_engine, session_factory, writing
from storage.models import AuditLog, CustomDeadline
from tests.calendars import Vevent, vevents
from tests.conftest import ROOT
from web.calendar import add_calendar_routes

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 11, 23, 9, tzinfo=KST)
GUILD = 4_000_000_000_000_000_001
OTHER = 4_000_000_000_000_000_002
ADMIN = 900_000_000_000_000_001


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Feed:
    services: Services
    clock: Clock
    base: str
    http: httpx.AsyncClient

    async def get(self, secret: str) -> httpx.Response:
        return await self.http.get(f"{self.base}/calendar/{secret}.ics")

    async def events(self, secret: str) -> dict[str, Vevent]:
        """The feed's VEVENTs by UID; each UID must appear once."""
        response = await self.get(secret)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        events = vevents(response.content)
        uids = [e.uid for e in events]
        assert len(uids) == len(set(uids)), uids
        return dict(zip(uids, events, strict=True))


@pytest.fixture
async def feed(database_url: str) -> AsyncIterator[Feed]:
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    engine = create_engine(database_url)
    prepared = await prepare_database(engine, session_factory(engine), items=tracker.items)
    clock = Clock(NOW)
    async with httpx.AsyncClient() as http:
        services = build_services(
            Settings(
                _env_file=None, database_url=database_url, public_url="https://mw.example.org/"
            ),
            tracker,
            http=http,
            engine=engine,
            clock=clock,
            item_ids=prepared.item_ids,
        )
        app = web.Application()
        add_calendar_routes(app, services=services)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            yield Feed(services, clock, f"http://127.0.0.1:{port}", http)
        finally:
            await runner.cleanup()
    await engine.dispose()


def _start(event: Vevent) -> datetime:
    start = event.start
    assert isinstance(start, datetime) and start.utcoffset() == timedelta(0)
    return start


async def _custom(feed: Feed, title: str, when: str, guild_id: int = GUILD) -> CustomDeadline:
    gsomia = feed.services.tracker.item("gsomia")
    assert gsomia is not None
    return await add_deadline(
        feed.services,
        guild_id=guild_id,
        actor_id=ADMIN,
        item=gsomia,
        title=title,
        when=when,
        now=feed.clock(),
    )


async def test_feed_gives_every_deadline_once_at_its_utc_instant(feed: Feed) -> None:
    s = feed.services
    first = await _custom(feed, 'Hearing, "final"', "2027-01-15 14:00")
    await _custom(feed, "다른 서버의 기한", "2027-02-01", guild_id=OTHER)
    secret = await calendar.ensure_secret(s, guild_id=GUILD, actor_id=ADMIN)
    assert await calendar.ensure_secret(s, guild_id=GUILD, actor_id=ADMIN) == secret

    events = await feed.events(secret)

    shown = await upcoming_deadlines(s, guild_id=GUILD, item=None, now=feed.clock())
    assert sorted(_start(e) for e in events.values()) == sorted(r.deadline.at for r in shown)
    by_summary = {e.summary: e for e in events.values()}
    # GSOMIA renews on 23 November (Seoul) unless notice is given 90 days before.
    renewal = by_summary["Renewal · South Korea–Japan GSOMIA"]
    assert _start(renewal) == datetime(2027, 11, 22, 15, tzinfo=UTC)
    notice = by_summary["Notice deadline · South Korea–Japan GSOMIA"]
    assert _start(notice) == datetime(2027, 11, 23, tzinfo=KST) - timedelta(days=90)
    custom = by_summary['Hearing, "final" · South Korea–Japan GSOMIA']
    assert _start(custom) == datetime(2027, 1, 15, 5, tzinfo=UTC)
    assert custom.uid == f"{GUILD}-gsomia-custom:{first.id}@mw.example.org"
    assert "다른 서버의 기한" not in (await feed.get(secret)).text
    for event in events.values():
        assert event.sequence == 0 and event.status == "CONFIRMED"


async def test_a_korean_guild_gets_korean_words(feed: Feed) -> None:
    await set_language(feed.services, guild_id=GUILD, actor_id=ADMIN, language="ko")
    secret = await calendar.ensure_secret(feed.services, guild_id=GUILD, actor_id=ADMIN)
    summaries = {e.summary for e in (await feed.events(secret)).values()}
    assert "자동 연장 · 한일 군사정보보호협정(GSOMIA)" in summaries


async def test_moved_and_cancelled_deadlines_keep_their_uid(feed: Feed) -> None:
    s = feed.services
    gsomia = s.tracker.item("gsomia")
    assert gsomia is not None
    moved = await _custom(feed, "Moved hearing", "2027-01-15 14:00")
    dropped = await _custom(feed, "Dropped hearing", "2027-02-15")
    secret = await calendar.ensure_secret(s, guild_id=GUILD, actor_id=ADMIN)
    before = await feed.events(secret)
    uid = {e.summary.split(" · ")[0]: u for u, e in before.items()}

    # A custom deadline moved (its time changed in the store), another removed.
    async with writing(s.sessions) as session:
        await session.exec(
            update(CustomDeadline)
            .where(col(CustomDeadline.id) == moved.id)
            .values(due_at=datetime(2027, 1, 20, 14, tzinfo=KST))
        )
        await session.commit()
    assert dropped.id is not None
    await remove_deadline(s, guild_id=GUILD, actor_id=ADMIN, deadline_id=dropped.id)
    # A termination notice: the renewal and its notice deadline no longer apply.
    change = await add_update(
        s,
        guild_id=GUILD,
        actor_id=ADMIN,
        item=gsomia,
        summary="Notice of termination",
        stage="termination_notified",
        when=None,
        source_url=None,
        source_name=None,
        now=feed.clock(),
    )
    after = await feed.events(secret)

    moved_event = after[uid["Moved hearing"]]
    assert _start(moved_event) == datetime(2027, 1, 20, 5, tzinfo=UTC)
    assert moved_event.sequence == 1 and moved_event.status == "CONFIRMED"
    for name in ("Dropped hearing", "Renewal", "Notice deadline"):
        gone = after[uid[name]]
        assert gone.status == "CANCELLED", name
        assert gone.sequence == 1
        assert _start(gone) == _start(before[uid[name]])
    termination = [e for u, e in after.items() if u not in before]
    assert [e.summary for e in termination] == ["Termination · South Korea–Japan GSOMIA"]
    ends = _start(termination[0])
    assert ends == datetime(2027, 11, 23, tzinfo=KST)
    # Asked again with nothing changed: the same versions, nothing counted up twice.
    again = await feed.events(secret)
    assert {u: e.sequence for u, e in again.items()} == {u: e.sequence for u, e in after.items()}

    # The notice moved past this term's notice deadline: termination moves a year on,
    # the same UID with a higher SEQUENCE.
    feed.clock.now = datetime(2027, 9, 1, 9, tzinfo=KST)
    await edit_update(
        s,
        guild_id=GUILD,
        actor_id=ADMIN,
        event_id=change.event.id,
        summary=None,
        stage=None,
        when="2027-09-01 09:00",
        source_url=None,
        now=feed.clock(),
    )
    later = await feed.events(secret)
    (uid_t,) = [u for u, e in after.items() if u not in before]
    assert _start(later[uid_t]) == datetime(2028, 11, 23, tzinfo=KST)
    assert later[uid_t].sequence == 1 and later[uid_t].status == "CONFIRMED"
    # Passed deadlines (the hearings in January and February) have dropped out.
    assert uid["Moved hearing"] not in later and uid["Dropped hearing"] not in later


async def test_rotated_secret_is_a_404_and_the_new_one_works(feed: Feed) -> None:
    s = feed.services
    old = await calendar.ensure_secret(s, guild_id=GUILD, actor_id=ADMIN)
    assert (await feed.get(old)).status_code == 200
    new = await calendar.rotate_secret(s, guild_id=GUILD, actor_id=ADMIN)
    assert new != old and len(new) == 32
    rotated = await feed.get(old)
    unknown = await feed.get("A" * 32)
    malformed = await feed.get("../../etc/passwd")
    assert rotated.status_code == unknown.status_code == 404
    assert rotated.content == unknown.content
    assert malformed.status_code == 404
    assert (await feed.get(new)).status_code == 200
    link = calendar.calendar_link(s.settings, new)
    assert link.url == f"https://mw.example.org/calendar/{new}.ics"
    async with s.sessions() as session:
        audits = (
            await session.exec(
                select(AuditLog).where(col(AuditLog.target_type) == "calendar_secret")
            )
        ).all()
    assert [a.action for a in audits] == ["setup.calendar_create", "setup.calendar_rotate"]
    assert [a.before for a in audits] == [None, {"secret": "set"}]
    assert all(old not in str(a.after) and new not in str(a.after) for a in audits)
