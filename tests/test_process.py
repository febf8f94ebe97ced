"""The actual bot process: ``python bot.py`` against the stand-in, signals, exit codes, the demo."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from standin import DiscordStandIn
from tests.conftest import ROOT
from tests.test_cli import _SETTINGS, run_bot


async def _start(env: dict[str, str]) -> asyncio.subprocess.Process:
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    clean.update(env)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        cwd=ROOT,
        env=clean,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _env(standin: DiscordStandIn, database_url: str, token: str | None = None) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": token or standin.bot_token,
        "DISCORD_API_BASE": standin.api_base,
        "DISCORD_GATEWAY_URL": standin.gateway_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "DEBUG",
    }


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
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert "stopping on signal" in log
    assert standin.bot_token not in log


async def test_a_refused_token_exits_2_naming_it(
    standin: DiscordStandIn, database_url: str
) -> None:
    process = await _start(_env(standin, database_url, token="not-the-token-at-all"))
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "DISCORD_TOKEN: Discord refused the token" in stderr.decode()
    assert "Traceback" not in stderr.decode()


def test_demo_plays_a_session_and_exits_0() -> None:
    result = run_bot("--demo", env={})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "── Mina (member) in #general: /status" in out
    assert "Extended 10 times" in out
    assert "Shelved since 24 Nov 2016" in out
    assert "── Mina: /timeline item:gsomia" in out
    assert "Page 1 of 2 · 18 events" in out and "Page 2 of 2 · 18 events" in out
    assert "── Jun: /update add item:gsomia stage:termination_notified" in out
    assert "Recorded as #25 on South Korea–Japan GSOMIA." in out
    assert "── in #updates" in out and "Termination now:" in out
    assert "Termination notified since" in out  # the changed /status
    assert "── in #reminders" in out and "Termination in 7d: South Korea–Japan GSOMIA" in out
    assert "0 spec violations" in out
    assert "Traceback" not in result.stderr
