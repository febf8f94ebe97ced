"""A rule set is a plugin: one added in the test suite alone (tests/petition_rules.py, its
module and its catalog words, no edit elsewhere) is read, shown and refused by the real bot."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from config.tracker import load_tracker
from demo.harness import running_bot
from i18n import catalog
from motionwatch_standin import DiscordStandIn
from tests import petition_rules
from tests.conftest import E2E_NOW
from tracker.rules import get_rule_set, rule_set_names

KST = ZoneInfo("Asia/Seoul")
REFERRED_AT = datetime(2026, 11, 10, 14, 0, tzinfo=KST)
ANSWER_DUE = datetime(2026, 12, 10, 14, 0, tzinfo=KST)  # 30 days on

TRACKER = """
[[items]]
key = "petition"
kind = "petition"
rule_set = "test-petition"
timezone = "Asia/Seoul"
seed = "petition-seed.toml"

[items.name]
en = "Petition on intelligence sharing"
ko = "정보 공유 청원"

[items.params]
signatures_needed = 50000
answer_days = 30
"""

SEED = """
[[event]]
key = "filed"
when = "2026-11-01"
stage = "filed"
summary_en = "The petition is filed."
summary_ko = "청원이 접수되었다."
source_name = "Example"
source_url = "https://example.org/petition/filed"
status = "verified"

[[event]]
key = "referred"
when = "2026-11-10 14:00"
stage = "referred"
summary_en = "It reaches the signatures and goes to committee."
summary_ko = "서명 수를 채워 위원회에 회부되었다."
source_name = "Example"
source_url = "https://example.org/petition/referred"
status = "verified"
"""


def _ts(moment: datetime, style: str = "F") -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"


def _tracker(tmp_path: Path) -> Path:
    (tmp_path / "petition-seed.toml").write_text(SEED, encoding="utf-8")
    path = tmp_path / "tracker.toml"
    path.write_text(TRACKER, encoding="utf-8")
    return path


def test_the_rule_set_is_found_by_name_with_its_words() -> None:
    assert "test-petition" in rule_set_names()
    assert get_rule_set("test-petition") is petition_rules.Petition
    assert catalog("ko")["rules.test-petition.stage.referred"] == "위원회 회부"
    # The words came in both languages, key for key, as the catalogs' own do.
    en = {k for k in catalog("en") if k.startswith("rules.test-petition.")}
    ko = {k for k in catalog("ko") if k.startswith("rules.test-petition.")}
    assert en == ko and en


async def test_status_and_timeline_of_a_third_rule_set(
    standin: DiscordStandIn, database_url: str, tmp_path: Path
) -> None:
    guild = standin.add_guild("Petitioners")
    korean = standin.add_guild("청원 모임", preferred_locale="ko")
    tracker = load_tracker(_tracker(tmp_path))
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=lambda: E2E_NOW
    ):
        member = guild.add_member("Mina")
        channel = next(iter(guild.channels))
        status = await standin.invoke(
            guild.id, channel, member, "status", options={"item": "petition"}
        )
        (embed,) = (await status.response()).embeds
        assert embed["title"] == "Petition on intelligence sharing"
        assert embed["description"] == f"**Referred to committee** since {_ts(REFERRED_AT, 'f')}"
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert fields["Signatures needed"] == "50000 to be referred"
        assert fields["Answer due"] == (
            f"{_ts(ANSWER_DUE)} ({_ts(ANSWER_DUE, 'R')})\n"
            "within the term the rules give the committee"
        )
        assert fields["Next deadline"] == f"Answer due: {_ts(ANSWER_DUE)} ({_ts(ANSWER_DUE, 'R')})"
        assert embed["color"] != 0

        timeline = await standin.invoke(
            guild.id, channel, member, "timeline", options={"item": "petition"}
        )
        (page,) = (await timeline.response()).embeds
        assert "→ *Filed*" in page["description"]
        assert "→ *Referred to committee*" in page["description"]
        assert "https://example.org/petition/referred" in page["description"]

        ko_member = korean.add_member("민아")
        ko_channel = next(iter(korean.channels))
        ko_status = await standin.invoke(
            korean.id, ko_channel, ko_member, "status", options={"item": "petition"}
        )
        (ko_embed,) = (await ko_status.response()).embeds
        assert ko_embed["description"].startswith("**위원회 회부**")
        ko_fields = {f["name"]: f["value"] for f in ko_embed["fields"]}
        assert ko_fields["필요 서명 수"] == "회부에 50000명"
        assert ko_fields["다음 시한"].startswith("답변 기한: ")
        ko_timeline = await standin.invoke(
            korean.id, ko_channel, ko_member, "timeline", options={"item": "petition"}
        )
        (ko_page,) = (await ko_timeline.response()).embeds
        assert "→ *청원 접수*" in ko_page["description"]
