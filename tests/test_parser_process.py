"""The feed parser's child process: capped, restarted when it hangs or dies, never the bot's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from news.parse import parse_feed
from news.parser_process import MEMORY_LIMIT, FeedParser
from tests.conftest import ROOT

NOW = datetime(2026, 11, 23, tzinfo=UTC)
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
    b"<item><guid>1</guid><title>GSOMIA review begins</title>"
    b"<link>https://wire.example/1</link></item></channel></rss>"
)
# A body that takes the parser many seconds: a document of many small entries.
SLOW = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>'
    + b"".join(
        b"<item><title>t%d</title><link>https://s.example/%d</link></item>" % (i, i)
        for i in range(400)
    )
    + b"</channel></rss>"
)


@pytest.fixture
async def parser() -> AsyncIterator[FeedParser]:
    made = FeedParser()
    try:
        yield made
    finally:
        made.close()


async def test_it_parses_as_the_bot_would_in_another_process(parser: FeedParser) -> None:
    parsed = await parser.parse(FEED, source_url="https://wire.example/feed", now=NOW)
    assert parsed == parse_feed(FEED, source_url="https://wire.example/feed", now=NOW)
    assert [e.title for e in parsed.entries] == ["GSOMIA review begins"]
    pid, soft, hard = await parser.limits()
    assert pid != os.getpid()
    assert soft == hard == MEMORY_LIMIT


async def test_a_parse_that_runs_away_is_stopped_and_the_parser_restarted(
    parser: FeedParser,
) -> None:
    before, _, _ = await parser.limits()
    parser.timeout = 0.001
    stuck = await parser.parse(SLOW * 20, source_url="https://s.example/feed", now=NOW)
    assert stuck.entries == () and stuck.problem == "refused: reading the feed took over 0.001 s"
    parser.timeout = 30
    after, _, _ = await parser.limits()
    assert after != before  # a new process
    parsed = await parser.parse(FEED, source_url="https://wire.example/feed", now=NOW)
    assert parsed.problem is None and len(parsed.entries) == 1


async def test_a_parser_that_dies_fails_one_feed_and_is_started_again(parser: FeedParser) -> None:
    pid, _, _ = await parser.limits()
    os.kill(pid, signal.SIGKILL)
    failed = await parser.parse(FEED, source_url="https://wire.example/feed", now=NOW)
    assert failed.problem == "refused: the feed made its parser fail"
    parsed = await parser.parse(FEED, source_url="https://wire.example/feed", now=NOW)
    assert parsed.problem is None and len(parsed.entries) == 1


# Many large bodies queued behind one that runs away: the executor's feeder thread is
# writing the next body into the pipe when the parser is killed.
_QUEUED_BEHIND_A_HANG = """
import asyncio
from datetime import UTC, datetime

from news.parser_process import FeedParser
from tests.test_parser_process import SLOW


async def main() -> None:
    parser = FeedParser(workers=1, timeout=0.2)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    results = await asyncio.gather(
        *(parser.parse(SLOW * 50, source_url=f"https://s/{i}", now=now) for i in range(8))
    )
    print("refused", sum(1 for r in results if r.problem is not None), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_process_whose_parser_was_killed_with_bodies_queued_still_exits() -> None:
    # Before the fix, Debian 12's Python 3.11.2 (cpython#94777) hung here at exit forever.
    done = subprocess.run(
        [sys.executable, "-c", _QUEUED_BEHIND_A_HANG],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "refused 8"
