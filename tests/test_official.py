"""The official record (SPEC §9) against the local stand-in of the Assembly's Open API.

A linked motion advanced from proposal to passed, each stage a sourced event announced
once; every error shape recorded on the source's health with no crash, a source paused
and its guilds warned after repeated failures; the key absent from every log line at
DEBUG, every error and the health row; rows in any order and several pages; one fetch
per poll across processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from config.errors import ConfigError
from config.settings import DEFAULT_NA_OPEN_API_BASE, Settings, load_settings
from config.tracker import TrackerConfig, load_tracker
from motionwatch_standin.assembly import AssemblyStandIn, bill_row
from official.bills import Bill, bill_from_row, is_dismissal_motion, stages
from official.fetch import OfficialApi
from official.records import ApiError, read_page
from render.announce import render_change
from render.sources import render_sources
from runtime.startup import prepare_database
from services.announcements import Announcements, Outgoing
from services.build import build_services
from services.context import Services
from services.news import FAILURES_TO_DISABLE, Sent
from services.official import (
    OFFICIAL_KEY,
    OFFICIAL_NAME,
    OfficialPoller,
    PollResult,
    official_source_view,
)
from storage.engine import create_engine, writing
from storage.models import Announcement, AuditLog, GuildSettings, OfficialSource, TimelineEvent
from storage.queries.events import stage_events, to_fact

KEY = "sEcReT-KeY-0123456789abcdef+/="
BILL = "2299001"
MOTION = "국무위원(국방부장관 가상인물) 해임건의안"
START = datetime(2027, 3, 6, 9, tzinfo=UTC)

TRACKER = """
[[items]]
key = "made-up-dismissal"
kind = "motion"
rule_set = "kr-assembly-dismissal"
timezone = "Asia/Seoul"
bill_no = "{bill}"

[items.name]
en = "(made up) Motion to dismiss a minister"
ko = "(가상) 국무위원 해임건의안"

[items.params]
seats = 300
proposal_fraction = "1/3"
passage_fraction = "1/2"
window_opens_hours = 24
window_closes_hours = 72
"""


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Warned:
    calls: list[tuple[int, int, str]] = field(default_factory=list)

    async def __call__(self, guild_id: int, channel_id: int, source: OfficialSource) -> None:
        self.calls.append((guild_id, channel_id, source.last_error or ""))


@dataclass
class Setup:
    api: AssemblyStandIn
    services: Services
    clock: Clock
    warned: Warned
    poller: OfficialPoller
    item_id: int


def tracker(tmp_path: Path, bill: str = BILL) -> TrackerConfig:
    path = tmp_path / "tracker.toml"
    path.write_text(TRACKER.format(bill=bill), encoding="utf-8")
    return load_tracker(path)


def settings(database_url: str, base: str, **extra: object) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        na_open_api_key=KEY,
        na_open_api_base=base,
        na_poll_seconds=60,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def setup(database_url: str, tmp_path: Path) -> AsyncIterator[Setup]:
    config = tracker(tmp_path)
    async with AssemblyStandIn(key=KEY) as api, httpx.AsyncClient() as http:
        clock = Clock()
        services = build_services(settings(database_url, api.base), config, http=http, clock=clock)
        prepared = await prepare_database(services.engine, services.sessions, items=config.items)
        services.item_ids.update(prepared.item_ids)
        async with writing(services.sessions) as session:
            # Two guilds with an updates channel (and news), one with neither.
            session.add(GuildSettings(guild_id=1, updates_channel_id=11, news_channel_id=12))
            session.add(GuildSettings(guild_id=2))
            session.add(GuildSettings(guild_id=3, updates_channel_id=31, news_channel_id=32))
            await session.commit()
        warned = Warned()
        poller = OfficialPoller(
            services, warn=warned, api=OfficialApi(base=api.base, key=KEY, timeout=1.0)
        )
        await poller.prepare()
        try:
            yield Setup(
                api, services, clock, warned, poller, prepared.item_ids["made-up-dismissal"]
            )
        finally:
            await services.engine.dispose()


async def poll_now(s: Setup) -> PollResult:
    """The next poll, once it is due (the clock moved past the source's next poll)."""
    async with s.services.sessions() as session:
        row = await session.get(OfficialSource, OFFICIAL_KEY)
    assert row is not None
    if row.next_poll_at is not None and row.next_poll_at > s.clock.now:
        s.clock.now = row.next_poll_at
    result = await s.poller.poll_due()
    assert result is not None
    return result


async def health(s: Setup) -> OfficialSource:
    async with s.services.sessions() as session:
        row = await session.get(OfficialSource, OFFICIAL_KEY)
    assert row is not None
    return row


async def official_events(s: Setup) -> list[TimelineEvent]:
    async with s.services.sessions() as session:
        stmt = (
            select(TimelineEvent)
            .where(col(TimelineEvent.item_id) == s.item_id)
            .order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.id))
        )
        return list((await session.exec(stmt)).all())


async def announcements(s: Setup) -> list[Announcement]:
    async with s.services.sessions() as session:
        stmt = select(Announcement).order_by(col(Announcement.id))
        return list((await session.exec(stmt)).all())


def others(n: int) -> list[dict[str, object]]:
    """Unlinked bills: dismissal motions of other (made-up) ministers."""
    return [
        bill_row(
            str(2298000 + i),
            f"국무위원(장관 가상{i}) 해임건의안",
            proposed="2026-10-01",
            reported="2026-10-02",
            decided="2026-10-05",
            result="폐기",
        )
        for i in range(n)
    ]


# -- a linked motion advanced from proposal to passed ------------------------------------------


async def test_linked_motion_advances_to_passed_each_stage_sourced_and_announced_once(
    setup: Setup,
) -> None:
    s = setup
    s.api.bills = [*others(3), bill_row(BILL, MOTION, proposed="2027-03-02")]
    first = await poll_now(s)
    assert [r.change.event.stage for r in first.recorded] == ["submitted"]

    # Nothing new: nothing recorded again, however often it is polled.
    assert (await poll_now(s)).recorded == ()
    assert (await poll_now(s)).recorded == ()

    s.api.bills[-1] = bill_row(BILL, MOTION, proposed="2027-03-02", reported="2027-03-03")
    assert [r.change.event.stage for r in (await poll_now(s)).recorded] == ["reported"]
    s.api.bills[-1] = bill_row(
        BILL,
        MOTION,
        proposed="2027-03-02",
        reported="2027-03-03",
        decided="2027-03-05",
        result="원안가결",
    )
    last = await poll_now(s)
    assert [r.change.event.stage for r in last.recorded] == ["passed"]
    assert (await poll_now(s)).recorded == ()

    events = await official_events(s)
    assert [e.stage for e in events] == ["submitted", "reported", "passed"]
    for event, day in zip(events, ("2027-03-02", "2027-03-03", "2027-03-05"), strict=True):
        assert event.guild_id is None  # a configured item: the shared history
        assert event.source_name == OFFICIAL_NAME
        assert (
            event.source_url
            == f"https://likms.assembly.go.kr/bill/billDetail.do?billId=STANDIN_{BILL}"
        )
        # Known only as a date: marked so, at the start of that day in Seoul.
        assert event.precision == "date"
        assert event.occurred_at.astimezone(s.services.tracker.items[0].timezone).date() == (
            date.fromisoformat(day)
        )
        assert BILL in event.summary_en and BILL in (event.summary_ko or "")
    assert "date only" in events[1].summary_en

    spec = s.services.tracker.items[0]
    async with s.services.sessions() as session:
        facts = [to_fact(e) for e in await stage_events(session, item_id=s.item_id)]
        audited = (await session.exec(select(AuditLog))).all()
    assert spec.assess(facts, s.clock.now).stage == "passed"
    assert len(audited) == 3 and all(a.actor_id is None for a in audited)

    # Each stage announced once in each guild with an updates channel, none in the other.
    rows = await announcements(s)
    assert sorted((a.guild_id, a.event_id) for a in rows) == sorted(
        (g, e.id) for g in (1, 3) for e in events if e.id is not None
    )
    sent: list[Outgoing] = []

    async def send(out: Outgoing) -> Sent:
        sent.append(out)
        return Sent(9000 + out.id)

    delivery = Announcements(s.services, send=send)
    assert await delivery.deliver(after_crash=True) == 6
    assert await delivery.deliver() == 0
    assert len({o.id for o in sent}) == len(sent) == 6
    passed = next(o for o in sent if o.change and o.change.event.stage == "passed")
    assert passed.change is not None
    reply = render_change("en", passed.change, announcement_id=passed.id)
    text = str(reply.embeds)
    assert "official record" in text and "<@0>" not in text


async def test_a_whole_life_in_one_poll_in_any_order_over_several_pages(setup: Setup) -> None:
    s = setup
    s.poller.api = OfficialApi(base=s.api.base, key=KEY, page_size=7, timeout=1.0)
    s.api.order = "shuffled"
    # An older snapshot of the same bill in another row: the fuller one counts.
    s.api.bills = [
        bill_row(BILL, MOTION, proposed="2027-03-02"),
        *others(30),
        bill_row(
            BILL,
            MOTION,
            proposed="2027-03-02",
            reported="2027-03-03",
            decided="2027-03-06",
            result="부결",
        ),
    ]
    result = await poll_now(s)
    assert result.bills == 31
    assert [r.change.event.stage for r in result.recorded] == ["submitted", "reported", "rejected"]
    listing = [r for r in s.api.requests if r["_service"] == "ALLBILLV2"]
    assert [int(r["pIndex"]) for r in listing] == [1, 2, 3, 4, 5]
    assert all(r["pSize"] == "7" and r["Type"] == "json" for r in listing)


async def test_a_linked_bill_the_listing_misses_is_fetched_by_number(setup: Setup) -> None:
    s = setup
    # Spaces in the name: the service's name filter misses it, the number finds it.
    s.api.bills = [bill_row(BILL, "국무위원(장관 가상인물) 해임 건의안", proposed="2027-03-02")]
    result = await poll_now(s)
    assert [r.change.event.stage for r in result.recorded] == ["submitted"]
    assert [r["_service"] for r in s.api.requests] == ["ALLBILLV2", "ALLBILL"]


async def test_no_data_is_not_an_error(setup: Setup) -> None:
    s = setup
    s.api.fault = "no-data"
    result = await poll_now(s)
    assert result.error is None and result.bills == 0
    row = await health(s)
    assert row.consecutive_failures == 0 and row.last_success_at == s.clock.now


# -- every error shape on the source's health ---------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("error-300", "ERROR-300"),
        ("error-290", "ERROR-290"),
        ("malformed", "MALFORMED"),
        ("http-500", "HTTP-500"),
        ("hang", "TIMEOUT"),
    ],
)
async def test_every_error_shape_is_recorded_on_the_source(
    setup: Setup, fault: str, code: str
) -> None:
    s = setup
    s.api.bills = [bill_row(BILL, MOTION, proposed="2027-03-02")]
    s.api.fault = fault
    result = await poll_now(s)
    assert result.error is not None and result.error.startswith(code)
    row = await health(s)
    assert row.consecutive_failures == 1 and row.enabled
    assert row.last_error is not None and row.last_error.startswith(code)
    assert row.last_success_at is None
    assert row.next_poll_at is not None and row.next_poll_at > s.clock.now
    assert await official_events(s) == []
    # The source answers again: healthy, and the motion recorded.
    s.api.fault = None
    result = await poll_now(s)
    assert result.error is None and len(result.recorded) == 1
    row = await health(s)
    assert row.consecutive_failures == 0 and row.last_error is None


async def test_an_unknown_code_is_a_failure_and_a_wrong_key_is_error_290(setup: Setup) -> None:
    page = b'{"RESULT":{"CODE":"INFO-300","MESSAGE":"restricted"}}'
    with pytest.raises(ApiError) as raised:
        read_page("ALLBILLV2", page)
    assert raised.value.code == "INFO-300"
    s = setup
    s.poller.api = OfficialApi(base=s.api.base, key="not-the-key", timeout=1.0)
    assert (await poll_now(s)).error == (
        "ERROR-290: 인증키가 유효하지 않습니다. 인증키가 없는 경우, 홈페이지에서 인증키를 "
        "신청하십시오."
    )


async def test_repeated_failures_pause_the_source_warn_once_and_show_in_source_list(
    setup: Setup,
) -> None:
    s = setup
    s.api.fault = "http-500"
    for _ in range(FAILURES_TO_DISABLE):
        await poll_now(s)
    row = await health(s)
    assert not row.enabled and row.disabled_at is not None
    assert row.consecutive_failures == FAILURES_TO_DISABLE
    # The guilds with a news channel are warned once.
    assert sorted((g, c) for g, c, _ in s.warned.calls) == [(1, 12), (3, 32)]
    assert all(error.startswith("HTTP-500") for _, _, error in s.warned.calls)
    # Probed a day later; a failed probe is quiet.
    assert row.next_poll_at is not None and row.next_poll_at - s.clock.now >= timedelta(hours=24)
    await poll_now(s)
    assert len(s.warned.calls) == 2

    view = await official_source_view(s.services)
    assert view is not None and not view.enabled
    listing = str(render_sources("en", [], view).embeds)
    assert OFFICIAL_NAME in listing and "HTTP-500" in listing and "paused" not in listing
    assert "disabled after 6 failures" in listing
    ko = str(render_sources("ko", [], view).embeds)
    assert "공식 기록" in ko

    s.api.fault = None
    await poll_now(s)
    row = await health(s)
    assert row.enabled and row.consecutive_failures == 0
    view = await official_source_view(s.services)
    assert view is not None and "last success" in str(render_sources("en", [], view).embeds)


# -- the key never shows ------------------------------------------------------------------------


async def test_the_key_is_in_no_log_line_error_or_health_row(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    s = setup
    caplog.set_level(logging.DEBUG)
    s.api.bills = [bill_row(BILL, MOTION, proposed="2027-03-02")]
    errors: list[str] = []
    for fault in (None, "error-300", "error-290", "malformed", "http-500", "hang", "no-data"):
        s.api.fault = fault
        result = await poll_now(s)
        errors.append(result.error or "")
        row = await health(s)
        errors.append(row.last_error or "")
    # A network failure: nothing listens on the port any more.
    s.poller.api = OfficialApi(base="http://127.0.0.1:9/portal/openapi", key=KEY, timeout=1.0)
    result = await poll_now(s)
    assert result.error is not None and result.error.startswith("NETWORK")
    errors.append(result.error)
    assert any(r.name == "httpx" for r in caplog.records)  # the client logged its requests
    assert all(r.get("KEY") == KEY for r in s.api.requests)  # and sent the key
    lines = [caplog.text, *(r.getMessage() for r in caplog.records), *errors]
    for form in (KEY, "sEcReT-KeY-0123456789abcdef%2B%2F%3D", "sEcReT-KeY"):
        assert not any(form in line for line in lines), form
    assert "***" in caplog.text
    assert KEY not in repr(s.poller.api) and KEY not in repr(s.services.settings)


# -- one fetch per poll across processes --------------------------------------------------------


async def test_two_processes_fetch_once_per_poll(setup: Setup, database_url: str) -> None:
    s = setup
    s.api.bills = [bill_row(BILL, MOTION, proposed="2027-03-02")]
    engines: list[AsyncEngine] = [create_engine(database_url) for _ in range(2)]
    try:
        pollers = []
        for engine in engines:
            services = build_services(
                s.services.settings,
                s.services.tracker,
                http=s.services.http,
                engine=engine,
                clock=s.clock,
                item_ids=s.services.item_ids,
            )
            pollers.append(
                OfficialPoller(services, api=OfficialApi(base=s.api.base, key=KEY, timeout=1.0))
            )
        for _ in range(3):
            before = len(s.api.requests)
            results = await asyncio.gather(*(p.poll_due() for p in pollers))
            assert sum(r is not None for r in results) == 1
            assert len(s.api.requests) - before == 1
            s.clock.now += timedelta(seconds=61)
        assert [e.stage for e in await official_events(s)] == ["submitted"]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_no_key_no_poll(database_url: str, tmp_path: Path) -> None:
    config = tracker(tmp_path)
    plain = Settings(_env_file=None, database_url=database_url)
    async with httpx.AsyncClient() as http:
        services = build_services(plain, config, http=http)
        try:
            poller = OfficialPoller(services)
            assert not poller.enabled and await poller.poll_due() is None
            assert await official_source_view(services) is None
        finally:
            await services.engine.dispose()


# -- reading the record -------------------------------------------------------------------------


def test_names_with_spaces_are_dismissal_motions() -> None:
    assert is_dismissal_motion("국무위원(국방부장관 한민구) 해임건의안")
    assert is_dismissal_motion("국무위원 ( 장관 ) 해임 건의 안")
    assert not is_dismissal_motion("국무위원(장관) 탄핵소추안")


@pytest.mark.parametrize(
    ("result", "stage"),
    [
        ("원안가결", "passed"),
        ("수정가결", "passed"),
        ("부결", "rejected"),
        ("폐기", "discarded"),
        ("임기만료폐기", "discarded"),
        ("철회", "withdrawn"),
    ],
)
def test_results_map_to_stages(result: str, stage: str) -> None:
    row = bill_row(
        BILL,
        MOTION,
        proposed="2027-03-02",
        reported="2027-03-03",
        decided="2027-03-05",
        result=result,
    )
    bill = bill_from_row(row)
    assert bill is not None
    assert [s.stage for s in stages(bill)] == ["submitted", "reported", stage]


def test_pending_and_hostile_rows() -> None:
    pending = bill_from_row(bill_row(BILL, MOTION, proposed="2027-03-02", result=""))
    assert pending is not None and [s.stage for s in stages(pending)] == ["submitted"]
    # A result without its date is not placed anywhere.
    undated = Bill(bill_no=BILL, name=MOTION, result="원안가결")
    assert stages(undated) == []
    assert bill_from_row({"BILL_NO": "1; DROP", "BILL_NM": MOTION}) is None
    assert bill_from_row({"BILL_NO": BILL, "BILL_NM": None}) is None
    odd = bill_from_row(
        {"BILL_NO": BILL, "BILL_NM": "a\x00b", "PPSL_DT": "2027-02-30", "LINK_URL": "javascript:x"}
    )
    assert odd is not None and odd.name == "ab" and odd.proposed_on is None and odd.link_url is None
    with pytest.raises(ApiError):
        read_page("ALLBILLV2", b'{"ALLBILLV2": "nope"}')
    with pytest.raises(ApiError):
        read_page("ALLBILLV2", b"[1, 2]")


# -- settings and configuration -----------------------------------------------------------------


def test_settings_are_validated_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NA_POLL_SECONDS", "0")
    monkeypatch.setenv("NA_OPEN_API_BASE", "ftp://example.org/api?KEY=x")
    with pytest.raises(ConfigError) as raised:
        load_settings(require_token=False, env_file=None)
    problems = raised.value.problems
    assert len(problems) == 2
    assert any(p.startswith("NA_POLL_SECONDS:") for p in problems)
    assert any(p.startswith("NA_OPEN_API_BASE:") for p in problems)
    monkeypatch.setenv("NA_POLL_SECONDS", "")
    monkeypatch.setenv("NA_OPEN_API_BASE", "")
    monkeypatch.setenv("NA_OPEN_API_KEY", "  ")
    plain = load_settings(require_token=False, env_file=None)
    assert plain.na_poll_seconds == 900 and plain.na_open_api_key is None
    assert plain.na_open_api_base == DEFAULT_NA_OPEN_API_BASE


def test_an_items_bill_number_is_read_and_checked(tmp_path: Path) -> None:
    assert tracker(tmp_path).items[0].bill_no == BILL
    with pytest.raises(ConfigError) as raised:
        tracker(tmp_path, bill="12 34")
    assert any("bill_no" in p for p in raised.value.problems)


def test_env_example_lists_the_settings() -> None:
    text = (Path(__file__).resolve().parents[1] / ".env.example").read_text(encoding="utf-8")
    for name in ("NA_OPEN_API_KEY=", "NA_OPEN_API_BASE=", "NA_POLL_SECONDS="):
        assert name in text


async def test_a_stage_the_rules_refuse_is_left_to_the_moderators(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    s = setup
    caplog.set_level(logging.INFO, logger="services.official")
    # A vote on the day of the report: the window opens 24 h after it.
    s.api.bills = [
        bill_row(
            BILL,
            MOTION,
            proposed="2027-03-02",
            reported="2027-03-03",
            decided="2027-03-03",
            result="원안가결",
        )
    ]
    result = await poll_now(s)
    assert result.error is None
    assert [r.change.event.stage for r in result.recorded] == ["submitted", "reported"]
    assert "official stage passed of bill 2299001 not recorded" in caplog.text
    assert (await poll_now(s)).recorded == ()


async def test_an_official_event_a_moderator_hid_is_not_recorded_again(setup: Setup) -> None:
    s = setup
    s.api.bills = [bill_row(BILL, MOTION, proposed="2027-03-02")]
    (recorded,) = (await poll_now(s)).recorded
    async with writing(s.services.sessions) as session:
        event = await session.get(TimelineEvent, recorded.change.event.id)
        assert event is not None
        event.deleted_at = s.clock.now
        session.add(event)
        await session.commit()
    assert (await poll_now(s)).recorded == ()
