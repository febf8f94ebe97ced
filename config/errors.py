from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class ConfigError(Exception):
    """Invalid settings or configuration: one line per problem, each naming what is wrong."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def location(loc: Iterable[Any]) -> str:
    """A pydantic error location as a key path: ``items[0].params.notice_period_days``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
