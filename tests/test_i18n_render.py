"""Catalogs and rendering, without Discord: what a member would read."""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.tracker import load_tracker
from i18n import catalog, language_for, t
from render.common import EMBEDS_TOTAL_LIMIT, embed_size
from render.deadlines import render_deadlines
from render.status import render_status
from render.timeline import render_timeline
from tests.conftest import ROOT
from tracker.items import ItemSpec
from tracker.lookup import find_items, resolve_item
from tracker.model import EventFact
from tracker.offsets import OffsetError, format_offsets, parse_offsets
from views.deadlines import DeadlineRow
from views.events import EventView
from views.status import ItemStatus

KST = ZoneInfo("Asia/Seoul")
TRACKER = load_tracker(ROOT / "config" / "tracker.toml")
GSOMIA = TRACKER.items[0]
MOTION = TRACKER.items[1]
NOW = datetime(2026, 11, 23, 9, tzinfo=KST)


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    en, ko = catalog("en"), catalog("ko")
    assert set(en) == set(ko)
    for key in en:
        assert _fields(en[key]) == _fields(ko[key]), key


def test_korean_command_names_are_valid_discord_names() -> None:
    pattern = re.compile(r"^[-_\w]{1,32}$")
    for key, text in catalog("ko").items():
        if key.endswith(".name") and key.startswith(("cmd.", "opt.")):
            assert pattern.match(text) and text == text.lower(), (key, text)


@pytest.mark.parametrize(
    ("setting", "locale", "expected"),
    [
        ("ko", "en-US", "ko"),
        (None, "ko", "ko"),
        (None, "fr", "en"),
        ("en", "ko", "en"),
        (None, None, "en"),
    ],
)
def test_language_choice(setting: str | None, locale: str | None, expected: str) -> None:
    assert language_for(setting, locale) == expected


def _status(item: ItemSpec, now: datetime = NOW) -> ItemStatus:
    facts = [EventFact(e.occurred_at, e.stage, e.precision, n) for n, e in enumerate(item.seed)]
    last = item.seed[-1]
    latest = EventView(
        id=99,
        occurred_at=last.occurred_at,
        precision=str(last.precision),
        summary_en=last.summary_en,
        summary_ko=last.summary_ko,
        source_name=last.source_name,
        source_url=last.source_url,
    )
    return ItemStatus(
        spec=item, assessment=item.assess(facts, now), latest=latest, event_count=len(facts)
    )


def test_gsomia_status_reads_well_in_english() -> None:
    (embed,) = render_status("en", [_status(GSOMIA)]).embeds
    text = str(embed)
    assert embed["title"] == "South Korea–Japan GSOMIA"
    assert "Termination notice withdrawn (back in force)" in embed["description"]
    assert "since 21 Mar 2023" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    # Only 2017 and 2018 are plain renewals on the record; the rest is said with its assumption.
    assert fields["Extensions"] == "At least 2 on the record, of 10 anniversaries passed in force"
    assert fields["During the suspended notice"].startswith("4 of those anniversaries")
    assert (
        "in Seoul's view the annual renewal did not apply" in fields["During the suspended notice"]
    )
    assert fields["Assumed"].startswith("4 of those anniversaries passed after the last recorded")
    renewal = int(datetime(2027, 11, 23, tzinfo=KST).timestamp())
    notice = int(datetime(2027, 8, 25, tzinfo=KST).timestamp())
    assert fields["Next renewal"] == f"<t:{renewal}:F> (<t:{renewal}:R>)"
    assert fields["Notice deadline"].startswith("by the end of 24 Aug 2027")
    assert f"<t:{notice}:F>" in fields["Notice deadline"]
    assert fields["Next deadline"] == f"Notice deadline: <t:{notice}:F> (<t:{notice}:R>)"
    assert "[The Korea Herald](https://www.koreaherald.com/" in fields["Latest update"]
    assert embed_size(embed) < EMBEDS_TOTAL_LIMIT
    assert "@everyone" not in text


def test_motion_status_in_korean() -> None:
    (embed,) = render_status("ko", [_status(MOTION)]).embeds
    assert embed["title"] == "한민구 국방부 장관 해임건의안"
    assert "보류" in embed["description"] and "2016년 11월 24일부터" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["정족수"] == "100명 이상 발의 · 151명 이상 찬성 (재적 300명)"
    assert fields["다음 시한"] == "예정된 시한 없음"


def test_suspended_notice_is_seouls_position_not_a_term() -> None:
    """In the suspension the status attributes the 'at once' view and computes no 90 days."""
    during = datetime(2020, 6, 1, 12, tzinfo=KST)
    (en,) = render_status("en", [_status(GSOMIA, during)]).embeds
    assert en["description"].startswith("**Termination notice suspended (in force)**")
    fields = {f["name"]: f["value"] for f in en["fields"]}
    assert fields["Termination notice suspended"].startswith(
        "Seoul's position (22 Nov 2019): the notice is only suspended, so ending the "
        "suspension would end the agreement at once, not after 90 days' notice."
    )
    assert "Notice deadline" not in fields and "Next renewal" not in fields
    assert fields["Next deadline"] == "None ahead"
    (ko,) = render_status("ko", [_status(GSOMIA, during)]).embeds
    assert ko["description"].startswith("**종료 통보 효력 정지(협정 유지)**")
    ko_fields = {f["name"]: f["value"] for f in ko["fields"]}
    assert ko_fields["종료 통보 효력 정지"].startswith("한국 정부의 입장(2019년 11월 22일)")
    assert "즉시 종료" in ko_fields["종료 통보 효력 정지"]


def test_korean_wording() -> None:
    ko = catalog("ko")
    assert ko["rules.kr-assembly-dismissal.deadline.window_opens"] == "표결 가능 시점"
    assert ko["rules.auto-renewing-agreement.stage.notice_suspended"] == (
        "종료 통보 효력 정지(협정 유지)"
    )
    assert not [k for k, v in ko.items() if "종료 재개" in v or "표결 가능 시작" in v]


def test_many_items_make_an_overview() -> None:
    statuses = [_status(GSOMIA)] * 30
    (embed,) = render_status("en", statuses).embeds
    assert len(embed["fields"]) == 25
    assert embed["footer"]["text"].startswith("and 5 more")


def test_timeline_page_lines() -> None:
    events = [
        EventView(
            id=n + 1,
            occurred_at=e.occurred_at,
            precision=str(e.precision),
            summary_en=e.summary_en,
            stage=e.stage,
            source_name=e.source_name,
            source_url=e.source_url,
        )
        for n, e in enumerate(GSOMIA.seed[:10])
    ]
    reply = render_timeline("en", GSOMIA, events, page=1, total=18)
    (embed,) = reply.embeds
    assert (reply.page, reply.pages) == (1, 2)
    assert embed["footer"]["text"] == "Page 1 of 2 · 18 events"
    assert "`#3` **27 Oct 2016** → *In negotiation*" in embed["description"]
    # A timed event is a Discord timestamp, a dated one the plain date.
    assert f"<t:{int(GSOMIA.seed[0].occurred_at.timestamp())}:f>" in embed["description"]
    assert len(embed["description"]) <= 4096


def test_deadlines_list_with_reminders_to_come() -> None:
    assessment = _status(GSOMIA).assessment
    rows = [DeadlineRow(GSOMIA, d) for d in assessment.deadlines]
    offsets = parse_offsets("300d,30d,1d")
    (embed,) = render_deadlines("en", rows, offsets=offsets, reminders_on=True, now=NOW).embeds
    first, second = embed["fields"]
    assert first["name"] == "Notice deadline · South Korea–Japan GSOMIA"
    assert "renews on 23 Nov 2027" in first["value"]
    # 300 days before 25 Aug 2027 is already past on 23 Nov 2026; 30d and 1d are to come.
    assert "Reminders to come: 30d, 1d before" in first["value"]
    assert second["name"].startswith("Renewal")


def test_offsets() -> None:
    assert format_offsets(parse_offsets("10m, 1h,30d,7d,1d,1d")) == "30d,7d,1d,1h,10m"
    assert parse_offsets("90m") == [timedelta(minutes=90)]
    for bad in ["", "1w", "0d", "400d", "d1"]:
        with pytest.raises(OffsetError, match="offsets"):
            parse_offsets(bad)


def test_item_lookup() -> None:
    assert resolve_item(TRACKER.items, "GSOMIA") is GSOMIA  # case does not matter
    assert resolve_item(TRACKER.items, "gsom") is None  # a prefix is for autocomplete only
    assert resolve_item(TRACKER.items, "한민구 국방부 장관 해임건의안") is MOTION
    assert find_items(TRACKER.items, "gso") == [GSOMIA]
    assert find_items(TRACKER.items, "해임") == [MOTION]
    assert find_items(TRACKER.items, "") == list(TRACKER.items)


def test_text_lookup_default_is_english() -> None:
    assert t("fr", "timeline.next") == "Next"
