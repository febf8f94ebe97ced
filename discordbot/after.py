"""What follows a committed change, in one place and after the member has the answer.

Every write (moderator commands, /setup, the news buttons) commits its unit of work,
answers the interaction, and then hands the rest here: the reminders planned again
where the change can move a deadline, and the guild's announcements posted in its
updates channel. Discord drops an interaction not answered within 3 s; none of this may
stand between a moderator and the reply, and a failure here is logged and tried again,
never shown as a failed command (the change itself is stored). An announcement is
stored with its change, so one this never gets to post (the process stopped, or every
attempt failed) is posted by the periodic delivery or the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

log = logging.getLogger(__name__)

# Attempts of each step, and the wait before the second (doubling after it).
ATTEMPTS = 4
FIRST_RETRY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Followup:
    """What one committed change still needs."""

    # The guild whose reminders the change can move (its settings, deadlines or stages).
    replan_guild: int | None = None
    # The guild whose stored announcements (the change's among them) are to be posted.
    announce_guild: int | None = None


class AfterChanges:
    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot
        self._tasks: set[asyncio.Task[None]] = set()
        # Replies being sent whose follow-up starts once they are out.
        self._replying = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def replying(self, followup: Followup) -> AsyncIterator[None]:
        """Around the reply: the follow-up starts once the reply is out (or failed).

        Counted from before the reply, so that ``drain`` also waits for a follow-up whose
        reply a member (or a test) has already seen.
        """
        self._replying += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._replying -= 1
            self.submit(followup)
            self._update_idle()

    def submit(self, followup: Followup) -> None:
        if followup.replan_guild is not None or followup.announce_guild is not None:
            task = asyncio.create_task(self._run(followup), name="after-change")
            self._tasks.add(task)
            self._idle.clear()
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._update_idle()

    def _update_idle(self) -> None:
        if not self._tasks and not self._replying:
            self._idle.set()

    async def drain(self) -> None:
        """Until every follow-up begun so far has run (tests, and a clean stop)."""
        await self._idle.wait()

    async def _run(self, followup: Followup) -> None:
        # The plan first: an announcement says when reminders come, which the plan decides.
        guild_id = followup.replan_guild
        if guild_id is not None:

            async def replan() -> None:
                await self.bot.reminders.replan_guild(guild_id)

            await self._attempt(f"re-plan of guild {guild_id}", replan)
        announce_guild = followup.announce_guild
        if announce_guild is not None:

            async def announce() -> None:
                # Discord's own refusals are recorded, not raised: what raises (the store
                # unreachable, say) is worth trying again.
                await self.bot.announcements.deliver(guild_id=announce_guild)

            await self._attempt(f"announcements of guild {announce_guild}", announce)

    async def _attempt(self, what: str, step: Callable[[], Awaitable[object]]) -> None:
        delay = FIRST_RETRY_SECONDS
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await step()
                return
            except Exception:
                if attempt == ATTEMPTS:
                    log.exception("%s failed %d times; giving up", what, attempt)
                    return
                log.warning("%s failed (attempt %d); trying again", what, attempt, exc_info=True)
                await asyncio.sleep(delay)
                delay *= 2
