"""A news story and the post that carries it in one guild's news channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NewsEntryView:
    title: str
    url: str
    summary: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewsPostView:
    id: int
    outlets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewsSourceView:
    """A feed a guild follows, and how its polls are going."""

    id: int
    name: str
    from_config: bool = False
    enabled: bool = True
    consecutive_failures: int = 0
    last_error: str | None = None
    last_success_at: datetime | None = None
    next_poll_at: datetime | None = None
