"""A large store for the benchmarks: many items, many events, many guilds' settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from config.tracker import TrackerConfig
from runtime.startup import prepare_database
from storage.engine import SessionFactory
from storage.models import GuildSettings, TimelineEvent
from tracker.items import ItemSpec
from tracker.rules.agreement import AgreementParams, AutoRenewingAgreement
from tracker.rules.motion import KrAssemblyDismissal, MotionParams

SEOUL = ZoneInfo("Asia/Seoul")
AGREEMENT_STAGES = [
    "negotiating",
    "initialled",
    "signed",
    "in_force",
    "termination_notified",
    "notice_suspended",
    "notice_withdrawn",
]
MOTION_STAGES = ["announced", "submitted"]


def big_tracker(items: int) -> TrackerConfig:
    specs: list[ItemSpec] = []
    for n in range(items):
        if n % 2 == 0:
            rules = AutoRenewingAgreement(
                AgreementParams(entry_into_force=date(2001 + n % 20, 1 + n % 12, 1 + n % 28)), SEOUL
            )
            kind = "agreement"
        else:
            rules = KrAssemblyDismissal(MotionParams(), SEOUL)  # type: ignore[assignment]
            kind = "motion"
        specs.append(
            ItemSpec(
                key=f"item-{n:03d}",
                name_en=f"Item {n}",
                name_ko=f"항목 {n}",
                kind=kind,
                rules=rules,
                timezone=SEOUL,
            )
        )
    return TrackerConfig(path=Path("bench-tracker.toml"), items=tuple(specs))


async def fill(
    engine: AsyncEngine,
    sessions: SessionFactory,
    tracker: TrackerConfig,
    *,
    events_per_item: int,
    guilds: int,
    offsets: str = "7d,1d,1h",
) -> dict[str, int]:
    """``events_per_item=0`` leaves the items' histories as their seeds have them."""
    prepared = await prepare_database(engine, sessions, items=tracker.items)
    start = datetime(2000, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    # Begun as a writer, as every write on SQLite is (storage.engine.writing).
    async with engine.execution_options(sqlite_immediate=True).begin() as conn:
        for spec in tracker.items:
            stages = AGREEMENT_STAGES if spec.kind == "agreement" else MOTION_STAGES
            rows = []
            for k in range(events_per_item):
                # A few stage changes early on (in 2000, before any entry into force),
                # then plain news events.
                stage = stages[k] if k < len(stages) and spec.kind == "motion" else None
                if spec.kind == "agreement" and k in (0, 1, 2):
                    stage = AGREEMENT_STAGES[k]
                rows.append(
                    {
                        "item_id": prepared.item_ids[spec.key],
                        "guild_id": None,
                        "occurred_at": start + timedelta(days=k * 3) + timedelta(minutes=k),
                        "precision": "datetime",
                        "summary_en": f"Event {k} of {spec.key}: " + "x" * 120,
                        "summary_ko": None,
                        "stage": stage,
                        "source_name": "Bench Wire",
                        "source_url": f"https://example.org/{spec.key}/{k}",
                        "recorded_at": now,
                        "revision": 1,
                    }
                )
            if rows:  # an INSERT with no rows would insert one of defaults
                await conn.execute(insert(TimelineEvent), rows)
        if guilds:
            await conn.execute(
                insert(GuildSettings),
                [
                    {
                        "guild_id": 10**17 + g,
                        "reminder_offsets": offsets,
                        "language": "en" if g % 2 else "ko",
                        "created_at": now,
                        "updated_at": now,
                        "reminders_channel_id": 10**17 + 50_000 + g,
                    }
                    for g in range(guilds)
                ],
            )
    return prepared.item_ids
