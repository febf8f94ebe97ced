"""The web pages from real processes: `bot.py --web` alone, and the worker with WEB_PORT."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn
from tests.conftest import E2E_NOW, ROOT
from tests.test_cli import clean_env, run_bot
from tests.test_process import Running
from tests.websupport import free_port

STARTUP_SECONDS = 60.0


async def _wait_for_healthz(url: str, process: Running) -> dict[str, object]:
    """The first answer from /healthz once the process listens (it may still be migrating)."""
    deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
    async with aiohttp.ClientSession() as http:
        while True:
            assert process.returncode is None, await process.finish()
            try:
                async with http.get(url) as response:
                    assert response.status == 200, await response.text()
                    body: dict[str, object] = await response.json()
                    return body
            except aiohttp.ClientConnectionError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)  # polling a port that is not open yet: no event to await


async def test_bot_py_web_serves_without_discord_and_stops_on_sigterm(database_url: str) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        "--web",
        cwd=ROOT,
        # No token, no Discord address: --web never connects to Discord.
        env=clean_env(DATABASE_URL=database_url, WEB_PORT=str(port), LOG_LEVEL="INFO"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    running = Running(process)
    try:
        body = await _wait_for_healthz(f"http://127.0.0.1:{port}/healthz", running)
        assert body["database"] == "reachable"
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/items/gsomia") as response,
        ):
            assert response.status == 200
            assert "Termination notice withdrawn (back in force)" in await response.text()
    finally:
        if running.returncode is None:
            running.send_signal(signal.SIGTERM)
        log = await running.finish()
    assert running.returncode == 0, log
    assert "web pages stopped" in log


def test_bot_py_web_needs_a_port(database_url: str) -> None:
    result = run_bot("--web", env={"DATABASE_URL": database_url})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "WEB_PORT: required with --web (PORT is read too when it is unset)"
    ]


async def test_the_worker_with_web_port_serves_the_pages(
    standin: DiscordStandIn, database_url: str
) -> None:
    standin.add_guild("Korea Watchers")
    port = free_port()
    async with (
        running_bot(
            standin,
            database_url=database_url,
            tracker=load_tracker(ROOT / "config" / "tracker.toml"),
            clock=lambda: E2E_NOW,
            web_port=port,
        ) as bot,
        aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        assert bot.web is not None and bot.web.port == port
        async with http.get("/?lang=ko") as response:
            assert response.status == 200
            page = await response.text()
        assert "추적 항목" in page and "종료 통보 철회(정상화)" in page
        async with http.get("/healthz") as response:
            assert response.status == 200
    # Closing the bot stops the pages with it.
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                raise AssertionError(f"still served after close: {response.status}")
        except aiohttp.ClientConnectionError:
            pass
