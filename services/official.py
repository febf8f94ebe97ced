"""The official record (SPEC §9): the Assembly's Open API polled, linked items advanced.

Each poll (one process per round, leased like a news feed) fetches the era's dismissal
motions and every linked bill, and records each stage the record shows for an item
linked to that bill (by its bill number) as a sourced timeline event, once: the event's
natural key (``official/<bill>/<item>/<guild or 0>/<stage>``) is unique in the store.
Events go in through the same steps as a moderator's update (services/moderation.py):
checked against the item's rules, audited, ``services.changed`` and the announcement
recorded in the same transaction, so that the announcement is posted once
(services/announcements.py). A failing poll is recorded on the source's health like a
feed's: failures in a row, the last error (without the key), disabled and warned after
FAILURES_TO_DISABLE, probed again later.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from i18n import t
from official.bills import Bill, Stage, merge, stages
from official.fetch import OfficialApi, fetch_bill, fetch_dismissal_motions
from official.keyguard import redact
from official.records import ApiError
from services.context import Services
from services.convert import event_view
from services.items import every_guild_item
from services.items import linked_items as guild_linked_items
from services.news import FAILURES_TO_DISABLE, backoff, probe_delay
from services.offers import offer_new_bills
from storage.engine import writing
from storage.models import OfficialSource, TimelineEvent
from storage.notify import Scope
from storage.queries import official as store
from storage.queries.announcements import record_announcement, record_announcements_everywhere
from storage.queries.audit import record_audit
from storage.queries.events import snapshot, stage_events, to_fact
from tracker.items import ItemSpec
from tracker.model import EventFact, Precision, StageChangeError
from views.changes import OFFICIAL_ACTOR_ID, Change, to_payload
from views.news import NewsSourceView

log = logging.getLogger(__name__)

OFFICIAL_KEY = "na-open-api"
OFFICIAL_NAME = "National Assembly Open API"
# The scheduler's tick; the source's own next poll time (NA_POLL_SECONDS) decides.
TICK_SECONDS = 30
# Long enough for every page and every linked bill at the fetch timeout.
LEASE_FLOOR = timedelta(minutes=5)
# Warns a guild's news channel that the official source was paused after failures.
Warner = Callable[[int, int, OfficialSource], Awaitable[None]]
# Told what a poll recorded, once it is committed: re-plan reminders, deliver announcements
# (called with nothing recorded when the poll only offered new motions).
ChangeHook = Callable[[Sequence["Recorded"]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LinkedItem:
    """An item following a bill: a configured one (``guild_id`` None) or a guild's own."""

    item_id: int
    spec: ItemSpec
    guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """One stage recorded from the official record, as its change."""

    item_id: int
    guild_id: int | None
    bill_no: str
    change: Change


@dataclass(frozen=True, slots=True)
class PollResult:
    bills: int = 0
    recorded: tuple[Recorded, ...] = ()
    error: str | None = None
    # New motions offered to guilds (services/offers.py): how many offers were recorded.
    offered: int = 0


async def linked_items(
    services: Services, *, bill_nos: Collection[str]
) -> dict[str, list[LinkedItem]]:
    """The items following each of ``bill_nos``: configured ones and guilds' own (/track)."""
    found: dict[str, list[LinkedItem]] = {}
    for spec in services.tracker.items:
        item_id = services.item_ids.get(spec.key)
        if spec.bill_no is not None and spec.bill_no in bill_nos and item_id is not None:
            found.setdefault(spec.bill_no, []).append(LinkedItem(item_id=item_id, spec=spec))
    for owned in await guild_linked_items(services, sorted(bill_nos)):
        if owned.bill_no is not None:
            found.setdefault(owned.bill_no, []).append(
                LinkedItem(item_id=owned.item_id, spec=owned.spec, guild_id=owned.guild_id)
            )
    return found


async def linked_bill_numbers(services: Services) -> set[str]:
    """Every bill some item follows (fetched by number when the listing misses it)."""
    configured = {spec.bill_no for spec in services.tracker.items if spec.bill_no}
    owned = {o.bill_no for o in await every_guild_item(services) if o.bill_no}
    return configured | owned


def event_key(bill_no: str, item: LinkedItem, stage: str) -> str:
    return f"official/{bill_no}/{item.item_id}/{item.guild_id or 0}/{stage}"


def summary(language: str, bill: Bill, stage: Stage) -> str:
    return t(
        language,
        f"official.summary_{stage.stage}",
        name=bill.name,
        bill_no=bill.bill_no,
        result=stage.result or "-",
    )


class OfficialPoller:
    def __init__(
        self,
        services: Services,
        *,
        warn: Warner | None = None,
        on_change: ChangeHook | None = None,
        api: OfficialApi | None = None,
    ) -> None:
        self.services = services
        self.warn, self.on_change = warn, on_change
        key = services.settings.na_open_api_key
        if api is None and key is not None:
            api = OfficialApi(base=services.settings.na_open_api_base, key=key.get_secret_value())
        self.api = api
        self.last_poll: datetime | None = None

    @property
    def enabled(self) -> bool:
        """Polled only with a key (NA_OPEN_API_KEY)."""
        return self.api is not None

    def now(self) -> datetime:
        return self.services.clock()

    def interval(self) -> timedelta:
        return timedelta(seconds=self.services.settings.na_poll_seconds)

    def lease(self) -> timedelta:
        """Held while a poll runs; a process killed mid-poll hands over within a cycle."""
        api = self.api
        floor = timedelta(seconds=2 * (api.timeout if api else 15.0)) + LEASE_FLOOR
        return max(min(self.interval(), floor), timedelta(seconds=60))

    async def prepare(self) -> None:
        """The source's row, once (call at start, before the first poll)."""
        async with writing(self.services.sessions) as session:
            await store.ensure_official_source(session, key=OFFICIAL_KEY, name=OFFICIAL_NAME)
            await session.commit()

    def schedule(self, wrap: Callable[[Callable[[], Awaitable[Any]]], Any] | None = None) -> None:
        """Add ``official:poll`` to the scheduler (a tick; the row says when it is due)."""
        job = wrap(self.poll_due) if wrap is not None else self.poll_due
        self.services.scheduler.add_job(
            job,
            "interval",
            seconds=min(TICK_SECONDS, self.services.settings.na_poll_seconds),
            id="official:poll",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )

    async def poll_due(self) -> PollResult | None:
        """Poll when due and no other process took it; None when there was nothing to do."""
        if self.api is None:
            return None
        now = self.now()
        async with writing(self.services.sessions) as session:
            row = await store.lease_official_source(
                session, key=OFFICIAL_KEY, now=now, lease_until=now + self.lease()
            )
            await session.commit()
        if row is None:
            return None
        return await self.poll()

    async def poll(self) -> PollResult:
        """Fetch, record what is new, and record the outcome on the source's health."""
        assert self.api is not None
        try:
            bills = await self._fetch(self.api)
        except ApiError as exc:
            reason = redact(str(exc), self.api.key)
            await self._failed(reason)
            return PollResult(error=reason)
        recorded = await self._record_all(bills)
        offered = await offer_new_bills(self.services, bills, now=self.now())
        await self._succeeded()
        self.last_poll = self.now()
        if (recorded or offered) and self.on_change is not None:
            try:
                await self.on_change(recorded)
            except Exception:  # what follows a change is retried by its own schedule
                log.exception("after recording %d official stages", len(recorded))
        return PollResult(bills=len(bills), recorded=tuple(recorded), offered=offered)

    async def _fetch(self, api: OfficialApi) -> dict[str, Bill]:
        http = self.services.http
        found = await fetch_dismissal_motions(http, api)
        missing = await linked_bill_numbers(self.services) - {b.bill_no for b in found}
        for bill_no in sorted(missing):
            found.extend(await fetch_bill(http, api, bill_no))
        log.debug("official record: %d bills (%d fetched by number)", len(found), len(missing))
        return merge(found)

    async def _record_all(self, bills: dict[str, Bill]) -> list[Recorded]:
        recorded: list[Recorded] = []
        linked = await linked_items(self.services, bill_nos=set(bills))
        for bill_no, bill in sorted(bills.items()):
            shown = stages(bill)
            if not shown:
                continue
            for item in linked.get(bill_no, []):
                recorded.extend(await self._record_item(bill, shown, item))
        return recorded

    async def _record_item(
        self, bill: Bill, shown: list[Stage], item: LinkedItem
    ) -> list[Recorded]:
        keys = {s.stage: event_key(bill.bill_no, item, s.stage) for s in shown}
        now = self.now()
        out: list[Recorded] = []
        async with writing(self.services.sessions) as session:
            done = await store.official_keys_recorded(session, keys=list(keys.values()))
            if done >= set(keys.values()):
                return []
            events = await stage_events(session, item_id=item.item_id, guild_id=item.guild_id)
            facts = [to_fact(e) for e in events]
            for stage in shown:
                if keys[stage.stage] in done:
                    continue
                fact = EventFact(stage.at, stage.stage, Precision.DATE, order=2**62)
                try:
                    item.spec.validate([*facts, fact])
                except StageChangeError as exc:
                    # The item's history says otherwise (a moderator recorded it first):
                    # the record does not overrule it; a moderator may.
                    log.info(
                        "official stage %s of bill %s not recorded for item %s: %s",
                        stage.stage,
                        bill.bill_no,
                        item.spec.key,
                        exc,
                    )
                    continue
                event = await self._add(session, bill, stage, item, keys[stage.stage], now)
                before = item.spec.assess(facts, now)
                facts.append(to_fact(event))
                change = Change(
                    "added",
                    item.spec,
                    event_view(event),
                    OFFICIAL_ACTOR_ID,
                    before,
                    item.spec.assess(facts, now),
                )
                change = await self._announce(session, change, item, now)
                out.append(Recorded(item.item_id, item.guild_id, bill.bill_no, change))
            if out:
                await self.services.changed(session, Scope.item(item.item_id, item.guild_id))
            await session.commit()
        for r in out:
            log.info(
                "official record: item %s is %s (bill %s, event %s)",
                item.spec.key,
                r.change.event.stage,
                bill.bill_no,
                r.change.event.id,
            )
        return out

    async def _add(
        self,
        session: AsyncSession,
        bill: Bill,
        stage: Stage,
        item: LinkedItem,
        key: str,
        now: datetime,
    ) -> TimelineEvent:
        event = TimelineEvent(
            item_id=item.item_id,
            guild_id=item.guild_id,
            occurred_at=stage.at,
            precision=str(Precision.DATE),
            summary_en=summary("en", bill, stage)[:1000],
            summary_ko=summary("ko", bill, stage)[:1000],
            stage=stage.stage,
            source_name=OFFICIAL_NAME,
            source_url=bill.link_url,
            recorded_by=None,
            recorded_at=now,
            seed_key=key,
        )
        session.add(event)
        await session.flush()
        await record_audit(
            session,
            guild_id=item.guild_id,
            actor_id=None,
            action="event.add",
            target_type="event",
            target_id=str(event.id),
            before=None,
            after={**snapshot(event), "official": key},
            at=now,
        )
        return event

    async def _announce(
        self, session: AsyncSession, change: Change, item: LinkedItem, now: datetime
    ) -> Change:
        payload = to_payload(change)
        if item.guild_id is not None:
            announcement = await record_announcement(
                session,
                guild_id=item.guild_id,
                event_id=change.event.id,
                action=change.action,
                payload=payload,
                now=now,
            )
            return replace(change, announcement_id=announcement)
        await record_announcements_everywhere(
            session, event_id=change.event.id, action=change.action, payload=payload, now=now
        )
        return change

    async def _failed(self, reason: str) -> None:
        now = self.now()
        settings = self.services.settings
        async with writing(self.services.sessions) as session:
            row = await session.get(OfficialSource, OFFICIAL_KEY)
            assert row is not None
            failures = row.consecutive_failures + 1
            # Only the step from enabled to disabled warns; a failed probe stays quiet.
            disable = row.enabled and failures >= FAILURES_TO_DISABLE
            row.consecutive_failures, row.last_error = failures, reason[:500]
            row.last_polled_at = now
            if disable or not row.enabled:
                row.next_poll_at = now + probe_delay(failures)
            else:
                row.next_poll_at = now + backoff(settings.na_poll_seconds, failures)
            if disable:
                row.enabled, row.disabled_at = False, now
            session.add(row)
            guilds = await store.news_channels(session) if disable else []
            await session.commit()
        log.warning("official source failed (%d in a row): %s", failures, reason)
        if self.warn is None:
            return
        for guild_id, channel_id in guilds:
            try:
                await self.warn(guild_id, channel_id, row)
            except Exception:  # one guild's channel must not keep the others unwarned
                log.exception("warning guild %s about the official source failed", guild_id)

    async def _succeeded(self) -> None:
        now = self.now()
        async with writing(self.services.sessions) as session:
            row = await session.get(OfficialSource, OFFICIAL_KEY)
            assert row is not None
            if not row.enabled:
                log.info("official source answers again: re-enabled")
            row.enabled, row.disabled_at = True, None
            row.consecutive_failures, row.last_error = 0, None
            row.last_polled_at = row.last_success_at = now
            row.next_poll_at = now + self.interval()
            session.add(row)
            await session.commit()


async def official_source_view(services: Services) -> NewsSourceView | None:
    """The official source's health for /source list; None when it is not polled."""
    if services.settings.na_open_api_key is None:
        return None
    async with services.sessions() as session:
        row = await store.get_official_source(session, key=OFFICIAL_KEY)
    if row is None:
        return None
    return NewsSourceView(
        id=0,
        name=row.name,
        from_config=True,
        enabled=row.enabled,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error,
        last_success_at=row.last_success_at,
        next_poll_at=row.next_poll_at,
    )
