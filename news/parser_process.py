"""Feeds are parsed in a child process: its time and memory are not the bot's.

In a thread, a parse holds the interpreter lock through every long C call (decoding or
scanning a 2 MB body), and the event loop waits for it: sixteen large feeds at once held
the loop up for over 100 ms. In a process the loop only copies the body across. The
child's address space is also capped, so a feed that would need gigabytes to read makes
that one parse fail with MemoryError instead of the machine swap, and a parse that runs
away is killed after PARSE_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import resource
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from news.parse import ParsedFeed, parse_feed

log = logging.getLogger(__name__)

PARSE_TIMEOUT = 30.0
# Address space of the parser process: feedparser and a 2 MB feed need well under this.
MEMORY_LIMIT = 1 << 30
# Parser processes at most: each may take MEMORY_LIMIT of address space.
MAX_WORKERS = 4


def _limit_memory(limit: int) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # a platform without the limit still parses
        log.warning("could not cap the feed parser's memory", exc_info=True)


def _parse(body: bytes, source_url: str, now: datetime) -> ParsedFeed:
    try:
        return parse_feed(body, source_url=source_url, now=now)
    except MemoryError:
        return ParsedFeed((), "refused: reading the feed needs too much memory")


def _limits() -> tuple[int, int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    return os.getpid(), soft, hard


def default_workers() -> int:
    """Every core but the one the event loop needs, at most MAX_WORKERS.

    Parsing is most of a full poll cycle; on one core it would bound the cycle however
    many cores the machine has.
    """
    return max(1, min(MAX_WORKERS, (os.cpu_count() or 1) - 1))


class FeedParser:
    """A pool of parser processes, started on first use and started again if one dies or
    hangs (a hang ends the whole pool: the executor cannot end one call)."""

    def __init__(
        self,
        *,
        timeout: float = PARSE_TIMEOUT,
        memory_limit: int = MEMORY_LIMIT,
        workers: int | None = None,
    ) -> None:
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Not fork: the bot's process has threads (and an event loop) a fork would copy.
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_limit_memory,
                initargs=(self.memory_limit,),
            )
        return self._pool

    async def parse(self, body: bytes, *, source_url: str, now: datetime) -> ParsedFeed:
        pool = self._executor()
        loop = asyncio.get_running_loop()
        try:
            # Submitting fails at once when the pool already knows its process died.
            job = loop.run_in_executor(pool, functools.partial(_parse, body, source_url, now))
            return await asyncio.wait_for(job, self.timeout)
        except TimeoutError:
            log.warning("parsing %s took over %g s; parser restarted", source_url, self.timeout)
            self._discard(pool)
            return ParsedFeed((), f"refused: reading the feed took over {self.timeout:g} s")
        except BrokenProcessPool:
            log.warning("the feed parser died reading %s; it is restarted", source_url)
            self._discard(pool)
            return ParsedFeed((), "refused: the feed made its parser fail")

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is not pool:
            return  # another parse already replaced it
        self._pool = None
        # Python before 3.11.5 (Debian 12's 3.11.2) then deadlocks, at the latest at exit
        # (cpython#94777): the queue's feeder thread stays blocked writing a queued body
        # into a pipe that only the killed processes read, and the executor joins it.
        # Closing this process's read end, as later Pythons do, makes that write fail.
        reader = getattr(getattr(pool, "_call_queue", None), "_reader", None)
        if reader is not None:
            reader.close()
        # The executor cannot cancel a running call: end its process instead.
        # Calls still queued fail with BrokenProcessPool (a failed poll), not a cancellation.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False)

    async def limits(self) -> tuple[int, int, int]:
        """The parser process's id and its address-space limit (soft, hard): for tests."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), _limits)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
