"""Measuring the event loop's stalls in a long test session."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
