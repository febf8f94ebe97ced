"""News across a crash: the real ``python bot.py`` polling a loopback feed on its own schedule,
killed with SIGKILL right after Discord took a post, then started again on the same database."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlmodel import select

from motionwatch_standin import DiscordStandIn, MessageRecord, Perm
from storage.engine import create_engine, session_factory
from storage.models import NewsEntry, NewsPost, NewsSource
from tests.conftest import ROOT
from tests.test_cli import standin_env
from tests.test_news_e2e import Feed, feeds  # noqa: F401  (the loopback feed server fixture)

T = TypeVar("T")


def _tracker_with_feed(tmp: Path, url: str) -> Path:
    """The shipped tracker file, with the outlets replaced by one feed on loopback."""
    shutil.copytree(ROOT / "config" / "seeds", tmp / "seeds")
    text = (ROOT / "config" / "tracker.toml").read_text(encoding="utf-8")
    text = re.sub(r'\[\[items\.sources\]\]\nname = "[^"]*"\nurl = "[^"]*"\n\n?', "", text)
    # A configured source serves every guild; one item naming it is enough.
    text = text.replace(
        "[items.keywords]",
        f'[[items.sources]]\nname = "Wire"\nurl = "{url}"\n\n[items.keywords]',
        1,
    )
    path = tmp / "tracker.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def _until(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 30) -> T:  # noqa: ASYNC109
    async def wait() -> T:
        while True:
            if (found := await probe()) is not None:
                return found
            # The database is another process's to write; look again shortly.
            await asyncio.sleep(0.05)

    try:
        return await asyncio.wait_for(wait(), timeout)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


@pytest.mark.parametrize("nonce_window", [300.0, 1.0], ids=["inside", "after"])
async def test_a_bot_killed_right_after_a_post_posts_nothing_twice_and_catches_up(
    standin: DiscordStandIn,
    database_url: str,
    feeds: Any,  # noqa: F811
    tmp_path: Path,
    nonce_window: float,
) -> None:
    """Restarted inside Discord's nonce window, or after it (when a resend with the same
    nonce would post again): the post a crash left unrecorded is found, not posted twice."""
    standin.set_nonce_window(nonce_window)
    base, served = feeds
    served["wire"] = Feed(
        "Wire", [("w0", "GSOMIA: an old story already in the feed", "https://wire.example/0")]
    )
    guild = standin.add_guild("Korea Watchers")
    news = guild.add_channel("news")
    admins = guild.add_role("Admins", Perm.MANAGE_GUILD)
    admin = guild.add_member("Jun", roles=[admins])
    env = standin_env(
        standin,
        database_url,
        TRACKER_CONFIG=str(_tracker_with_feed(tmp_path, f"{base}/wire.xml")),
        NEWS_POLL_SECONDS="1",
        ALLOW_PRIVATE_SOURCES="1",
    )
    engine = create_engine(database_url)
    sessions = session_factory(engine)

    async def start() -> asyncio.subprocess.Process:
        # The log goes to a file (a pipe nobody reads would block it); pytest keeps tmp_path.
        with (tmp_path / "bot.log").open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "bot.py"),
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )

    async def source_polled_after(when: datetime | None) -> NewsSource | None:
        async with sessions() as session:
            source = (await session.exec(select(NewsSource))).first()
        if source is None or source.initialized_at is None or source.last_polled_at is None:
            return None
        return source if when is None or source.last_polled_at > when else None

    async def posts_in(state: str, count: int) -> list[NewsPost] | None:
        async with sessions() as session:
            posts = (await session.exec(select(NewsPost).order_by(NewsPost.id))).all()  # type: ignore[arg-type]
        return list(posts) if len(posts) == count and {p.state for p in posts} == {state} else None

    def titled(prefix: str) -> Callable[[MessageRecord], bool]:
        return lambda m: bool(m.embeds) and m.embeds[0]["title"].startswith(prefix)

    first = await start()
    try:
        await standin.wait_until_connected(timeout=30)
        setup = await standin.invoke(
            guild.id,
            guild.channel_named("general"),
            admin,
            "setup",
            options={"purpose": "news", "channel": news},
            subcommand="channel",
        )
        await setup.response(timeout=10)
        # The first poll records what the feed already holds; a later poll sees the new story.
        await _until(lambda: source_polled_after(None), "the first poll of the feed")
        standin.hold_posts(news)  # Discord creates the message; the bot never hears back
        served["wire"].items.append(
            ("w1", "Seoul and Tokyo review GSOMIA", "https://wire.example/1")
        )
        await standin.wait_for_message(news, titled("Seoul and Tokyo"), timeout=30)
        (claimed,) = await _until(lambda: posts_in("sending", 1), "the post to be claimed")
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
        standin.release_posts(news)
        killed = time.monotonic()
    if nonce_window < 60:
        # Down for longer than Discord remembers the nonce.
        await asyncio.sleep(max(0.0, nonce_window + 0.1 - (time.monotonic() - killed)))

    # Published while the bot was down.
    served["wire"].items.append(
        ("w2", "GSOMIA extended for another year", "https://wire.example/2")
    )
    second = await start()
    try:
        await standin.wait_for_message(news, titled("GSOMIA extended"), timeout=30)
        posts = await _until(lambda: posts_in("posted", 2), "both posts recorded as posted")
        # A poll that began after both were recorded: still nothing new to post.
        recorded = max(p.posted_at for p in posts if p.posted_at is not None)
        await _until(lambda: source_polled_after(recorded), "a later poll")
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), timeout=30)
    async with sessions() as session:
        entries = {e.id: e.entry_key for e in (await session.exec(select(NewsEntry))).all()}
    await engine.dispose()

    assert second.returncode == 0
    messages = standin.messages(news)
    assert [m.embeds[0]["title"] for m in messages] == [
        "Seoul and Tokyo review GSOMIA",
        "GSOMIA extended for another year",
    ]
    assert [entries[p.entry_id].rsplit("/", 1)[-1] for p in posts] == ["w1", "w2"]
    assert posts[0].id == claimed.id and posts[0].message_id == messages[0].id
    assert posts[1].message_id == messages[1].id
