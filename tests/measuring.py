"""Measuring how long the event loop is held up, in a long test session."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field


@contextmanager
def earlier_objects_set_aside() -> Iterator[None]:
    """Collect now what earlier tests left, and keep every object that exists now out of
    the collector until the measurement ends.

    A full collection of a long test session's heap takes hundreds of milliseconds and
    starts wherever an allocation happens to trip it, so a stall measured in one test
    would otherwise be another test's garbage (a bot keeps its heap small and steady).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class LoopWatch:
    """What a heartbeat task saw while the event loop ran a piece of work."""

    # Time between one heartbeat and the next, the sleep included (seconds).
    gaps: list[float] = field(default_factory=list)
    # What ``sample`` returned at each heartbeat, if given (e.g. the resident memory).
    samples: list[int] = field(default_factory=list)

    @property
    def longest(self) -> float:
        return max(self.gaps)


@asynccontextmanager
async def watching_the_loop(
    interval: float, sample: Callable[[], int] | None = None
) -> AsyncIterator[LoopWatch]:
    """A heartbeat every ``interval`` s while the block runs: how long the loop was held."""
    watch = LoopWatch()
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def heartbeat() -> None:
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(interval)
            watch.gaps.append(loop.time() - last)
            if sample is not None:
                watch.samples.append(sample())
            last = loop.time()

    beating = asyncio.create_task(heartbeat())
    try:
        yield watch
    finally:
        done.set()
        await beating
