"""The actual bot process: ``python bot.py`` against the stand-in, signals, exit codes, the demo."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from motionwatch_standin import DiscordStandIn
from tests.conftest import ROOT
from tests.test_cli import run_bot, standin_env


class Running:
    """A bot process whose log is read as it is written.

    A pipe nobody reads fills up (64 KiB), and a process logging at DEBUG then
    blocks on its next write: the log must be drained while the process runs.
    """

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._chunks: list[bytes] = []
        assert process.stderr is not None
        self._reader = asyncio.create_task(self._drain(process.stderr))

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self._chunks.append(chunk)

    def send_signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    async def finish(self, timeout: float = 30) -> str:  # noqa: ASYNC109
        await asyncio.wait_for(self.process.wait(), timeout=timeout)
        await self._reader
        return b"".join(self._chunks).decode(errors="replace")


async def _start(env: dict[str, str]) -> Running:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    return Running(process)


def _env(standin: DiscordStandIn, database_url: str, **settings: str) -> dict[str, str]:
    return standin_env(standin, database_url, LOG_LEVEL="DEBUG", **settings)


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
async def test_the_bot_process_answers_and_stops_cleanly_on_a_signal(
    standin: DiscordStandIn, database_url: str, stop_with: signal.Signals
) -> None:
    guild = standin.add_guild("Korea Watchers")
    channel = next(iter(guild.channels))
    member = guild.add_member("Mina")
    process = await _start(_env(standin, database_url))
    try:
        await standin.wait_until_connected(timeout=30)
        interaction = await standin.invoke(
            guild.id, channel, member, "status", options={"item": "gsomia"}
        )
        reply = await interaction.response(timeout=10)
        assert reply.embeds[0]["title"] == "South Korea–Japan GSOMIA"
    finally:
        process.send_signal(stop_with)
        log = await process.finish()
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert "stopping on signal" in log
    assert standin.bot_token not in log


async def test_a_refused_token_exits_2_naming_it(
    standin: DiscordStandIn, database_url: str
) -> None:
    process = await _start(_env(standin, database_url, DISCORD_TOKEN="not-the-token-at-all"))
    log = await process.finish()
    assert process.returncode == 2
    assert "DISCORD_TOKEN: Discord refused the token" in log
    assert "Traceback" not in log


def test_demo_plays_a_session_and_exits_0() -> None:
    result = run_bot("--demo", env={})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "── Mina (member) in #general: /status" in out
    assert "At least 2 on the record, of 10 anniversaries passed in force" in out
    assert "Shelved since 24 Nov 2016" in out
    assert "── Mina: /timeline item:gsomia" in out
    assert "Page 1 of 2 · 18 events" in out and "Page 2 of 2 · 18 events" in out
    assert "── Jun: /update add item:gsomia stage:termination_notified" in out
    assert "Recorded as #25 on South Korea–Japan GSOMIA." in out
    assert "── in #updates" in out and "Termination now:" in out
    assert "Termination notified since" in out  # the changed /status
    assert "── in #reminders" in out and "Termination in 7d: South Korea–Japan GSOMIA" in out
    assert "── Jun: /source add url:http://127.0.0.1:" in out
    assert "Source #1 added: Demo Wire. Entries in the feed now: 1" in out
    news = out[out.index("── in #news") :]
    assert "(Demo, not real) Seoul and Tokyo agree to keep GSOMIA for another year" in news
    assert "[Add to timeline] [Not relevant]" in news
    assert "Added to the timeline as #26 by @Jun." in news
    # A made-up motion, marked so, taken from proposal to vote by the local Open API stand-in.
    motion = out[out.index("── Jun: /track motion") : out.index("── the web page")]
    assert 'name:"(Demo, not real) Motion to dismiss' in motion and "(가상)" in motion
    assert "bill_no:2299999" in motion and "This server now tracks (Demo, not real)" in motion
    assert "the Assembly's Open API is a local stand-in here, at http://127.0.0.1:" in motion
    announced = motion.split("── in #updates")[1:]
    assert len(announced) == 3
    assert "(bill 2299999) proposed" in announced[0]
    assert "No stage recorded yet → Submitted" in announced[0]
    assert "Submitted → Reported to the plenary" in announced[1]
    assert "Reported to the plenary since" in announced[1]  # /status while reported
    assert "▸ Vote window" in announced[1]
    assert "Reported to the plenary → Passed" in announced[2]
    assert "(원안가결)" in announced[2]
    final = announced[2][announced[2].index("── Jun: /status item:") :]
    assert "Passed since" in final and "3 events" in final
    # The web page of the item: the shared history, which the guild's own notice leaves alone.
    web = out[out.index("── the web page http://127.0.0.1:") :]
    assert "/items/gsomia (HTTP 200), as text:" in web
    assert "South Korea–Japan GSOMIA (gsomia)" in web
    assert "Termination notice withdrawn (back in force)" in web
    assert "<" not in web.split("stand-in:")[0]  # tags stripped
    assert "0 spec violations" in out
    assert "Traceback" not in result.stderr
