"""A motion reported on a day at an unknown time, as members see it: /status, /deadlines,
the web page and ``--check`` say the vote window is approximate until a moderator gives
the time; then it is exact again."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn, Guild, Perm
from storage.engine import writing
from storage.notify import Scope
from storage.queries.events import seed_events
from tests.conftest import E2E_NOW, ROOT
from tests.test_cli import run_bot
from tests.websupport import Site, site
from tracker.items import SeedEvent
from tracker.model import Precision

__all__ = ["site"]  # the fixture, used by name

KST = ZoneInfo("Asia/Seoul")
ITEM = "han-minkoo-dismissal"
# E2E_NOW is 23 Nov 2026 09:00 KST; reported on 21 Nov, time unknown.
APPROX_EN = (
    "about 24–72 h after the report on 21 Nov 2026 (the time of the report is not known): "
    "from 22 Nov 2026 to 24 Nov 2026"
)
APPROX_KO = "보고 시각 미상: 2026년 11월 22일경부터 2026년 11월 24일경까지"


def ts(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=KST).timestamp())


@dataclass
class Server:
    standin: DiscordStandIn
    guild: Guild
    general: int
    member: int
    admin: int
    bot: Any

    async def ask(self, user: int, name: str, sub: str | None = None, **options: Any) -> Any:
        interaction = await self.standin.invoke(
            self.guild.id, self.general, user, name, options=options or None, subcommand=sub
        )
        return await interaction.response()

    async def record(self, stage: str, when: str) -> int:
        reply = await self.ask(
            self.admin, "update", "add", item=ITEM, summary=stage, stage=stage, when=when
        )
        assert reply.content is not None and reply.content.startswith("Recorded as #"), (
            reply.content
        )
        return int(reply.content.split("#")[1].split(" ")[0])

    async def status_fields(self) -> dict[str, str]:
        status = await self.ask(self.member, "status", item=ITEM)
        return {f["name"]: f["value"] for f in status.embeds[0]["fields"]}


@pytest.fixture
async def server(standin: DiscordStandIn, database_url: str) -> AsyncIterator[Server]:
    guild = standin.add_guild("Korea Watchers")
    admin_role = guild.add_role("Admins", Perm.MANAGE_GUILD)
    member = guild.add_member("Mina")
    admin = guild.add_member("Seo", roles=[admin_role])
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=lambda: E2E_NOW
    ) as bot:
        yield Server(standin, guild, guild.channel_named("general"), member, admin, bot)


async def test_status_is_approximate_until_the_time_is_edited_in(server: Server) -> None:
    s = server
    await s.record("submitted", "2026-11-20")
    reported = await s.record("reported", "2026-11-21")

    fields = await s.status_fields()
    assert "Vote window" not in fields
    text, note = fields["Vote window (approximate)"].split("\n")
    assert text == APPROX_EN
    assert f"surely in time until <t:{ts(2026, 11, 24)}:F>" in note
    assert f"deemed discarded after <t:{ts(2026, 11, 25)}:F>" in note
    # The safe opening (23 Nov 00:00) has passed: the next is the safe close.
    assert fields["Next deadline"].startswith(
        f"Vote surely in time until (approximate): <t:{ts(2026, 11, 24)}:F>"
    )
    deadlines = await s.ask(s.member, "deadlines")
    (field,) = [
        f
        for f in deadlines.embeds[0]["fields"]
        if f["name"].startswith("Vote surely in time until (approximate) · ")
    ]
    assert "Only the day of the report is known" in field["value"]

    await s.ask(s.admin, "setup", "language", language="ko")
    korean = await s.status_fields()
    assert korean["표결 기간(추정)"].startswith(APPROX_KO)
    assert korean["다음 시한"].startswith(f"표결 시한(추정): <t:{ts(2026, 11, 24)}:F>")
    await s.ask(s.admin, "setup", "language", language="en")

    edit = await s.ask(s.admin, "update", "edit", event_id=reported, when="2026-11-21 10:00")
    assert edit.content is not None and "edited" in edit.content, edit.content
    fields = await s.status_fields()
    assert "Vote window (approximate)" not in fields
    assert fields["Vote window"].startswith(
        f"after <t:{ts(2026, 11, 22, 10)}:F>, until <t:{ts(2026, 11, 24, 10)}:F>"
    )
    assert fields["Next deadline"].startswith(f"Vote window closes: <t:{ts(2026, 11, 24, 10)}:F>")


async def test_a_second_report_with_a_time_makes_it_exact(server: Server) -> None:
    s = server
    await s.record("submitted", "2026-11-20")
    await s.record("reported", "2026-11-21")
    assert "Vote window (approximate)" in await s.status_fields()
    found = await s.standin.autocomplete(
        s.guild.id,
        s.general,
        s.admin,
        "update",
        subcommand="add",
        focused="stage",
        value="",
        options={"item": ITEM},
    )
    assert "reported" in [str(c.value) for c in found]
    await s.record("reported", "2026-11-21 10:00")
    fields = await s.status_fields()
    assert "Vote window (approximate)" not in fields
    assert fields["Next deadline"].startswith(f"Vote window closes: <t:{ts(2026, 11, 24, 10)}:F>")


def test_check_shows_the_approximate_window(tmp_path: Path) -> None:
    config = ROOT / "config"
    text = (config / "tracker.toml").read_text(encoding="utf-8")
    (tmp_path / "tracker.toml").write_text(
        text.replace('seed = "seeds/', f'seed = "{config}/seeds/'), encoding="utf-8"
    )
    seeds = tmp_path / "seeds.toml"
    original = (config / "seeds" / f"{ITEM}.toml").read_text(encoding="utf-8")
    seeds.write_text(
        original
        + "".join(
            f'\n[[event]]\nkey = "{stage}"\nwhen = "{when}"\nstage = "{stage}"\n'
            f'summary_en = "{stage}"\nsummary_ko = "{stage}"\nsource_name = "Assembly"\n'
            f'source_url = "https://likms.assembly.go.kr/"\nstatus = "verified"\n'
            for stage, when in (("submitted", "2027-03-02"), ("reported", "2027-03-03"))
        ),
        encoding="utf-8",
    )
    tracker = (tmp_path / "tracker.toml").read_text(encoding="utf-8")
    (tmp_path / "tracker.toml").write_text(
        tracker.replace(f'seed = "{config}/seeds/{ITEM}.toml"', f'seed = "{seeds}"'),
        encoding="utf-8",
    )
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    result: subprocess.CompletedProcess[str] = run_bot(
        "--check",
        "--now",
        "2027-03-04T12:00+09:00",
        env={"DATABASE_URL": url, "TRACKER_CONFIG": str(tmp_path / "tracker.toml")},
    )
    assert result.returncode == 0, result.stderr
    motion = result.stdout.split(f"{ITEM}: ", 1)[1]
    assert "  stage: Reported to the plenary since 2027-03-03\n" in motion
    assert (
        "  Vote window (approximate): about 24–72 h after the report on 3 Mar 2027 "
        "(the time of the report is not known): from 4 Mar 2027 to 6 Mar 2027 "
        "(Until a moderator gives the time, counted safely: a vote is surely allowed after "
        "2027-03-05 00:00 KST and surely in time until 2027-03-06 00:00 KST; without a vote "
        "the motion is deemed discarded after 2027-03-07 00:00 KST.)\n"
    ) in motion
    assert "  next deadline: Vote window surely open (approximate) 2027-03-05 00:00 KST\n" in motion


async def test_web_page_shows_the_approximate_window(site: Site) -> None:
    item_id = site.services.item_ids[ITEM]
    seeds = [
        SeedEvent(
            key=stage,
            occurred_at=datetime(2026, 11, day, tzinfo=KST),
            precision=Precision.DATE,
            summary_en=stage,
            summary_ko=stage,
            source_name="Assembly",
            source_url="https://likms.assembly.go.kr/",
            stage=stage,
        )
        for stage, day in (("submitted", 20), ("reported", 21))
    ]
    async with writing(site.services.sessions) as session:
        await seed_events(session, item_id=item_id, item_key=ITEM, seeds=seeds)
        await site.services.changed(session, Scope.item(item_id))
        await session.commit()
    async with site.client.get(f"/items/{ITEM}") as response:
        page = await response.text()
    assert "Vote window (approximate)" in page
    assert APPROX_EN in page
    async with site.client.get(f"/items/{ITEM}?lang=ko") as response:
        korean = await response.text()
    assert "표결 기간(추정)" in korean
    assert APPROX_KO in korean
