"""Round-trip time of /status and a /timeline page, against a bare discord.py bot.

From the stand-in writing INTERACTION_CREATE to the bot's callback arriving,
p50 and p99 over many runs, with a store of 200 items x 500 events and 1,000
guilds' settings; then the same for a bare bot whose one command replies with
a constant, through the same stand-in, in the same process. Prints both and
the ratio. Run: python bench/interaction_latency.py [--runs N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord
from discord import app_commands

from bench.bigstore import big_tracker, fill
from demo.harness import running_bot
from discordbot.bot import point_at
from motionwatch_standin import DiscordStandIn
from storage.engine import create_engine, session_factory

ITEMS, EVENTS, GUILDS = 200, 500, 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# Between two interactions, as between two members' commands, the bot is left a moment to
# finish what follows a reply (discord.py parses the message Discord returns); without it,
# that tail of one run would be counted in the next, larger for larger replies.
PAUSE = 0.005


async def measure(runs: int, fire: Callable[[], Awaitable[float]]) -> list[float]:
    for _ in range(min(20, runs)):  # warm-up: caches, connection pools, first-use imports
        await fire()
    out = []
    for _ in range(runs):
        await asyncio.sleep(PAUSE)
        out.append(await fire())
    return out


@contextlib.asynccontextmanager
async def bare_bot(standin: DiscordStandIn, guild_id: int) -> AsyncIterator[discord.Client]:
    intents = discord.Intents.none()
    intents.guilds = True
    client = discord.Client(
        intents=intents, allowed_mentions=discord.AllowedMentions.none(), guild_ready_timeout=0.05
    )
    tree = app_commands.CommandTree(client)

    # A guild command, so that it does not overwrite the motionwatch bot's global ones.
    guild = discord.Object(id=guild_id)

    @tree.command(name="ping", description="Replies with a constant", guild=guild)
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    point_at(standin.api_base, standin.gateway_url)
    await client.login(standin.bot_token)
    await tree.sync(guild=guild)
    task = asyncio.create_task(client.connect())
    await client.wait_until_ready()
    try:
        yield client
    finally:
        await client.close()
        await asyncio.wait({task}, timeout=5)


def summary(label: str, values: list[float]) -> tuple[float, float]:
    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
    mean = statistics.mean(values) * 1000
    print(f"{label:<28} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   mean {mean:7.2f} ms")
    return p50, p99


async def main(runs: int, rounds: int, database_url: str | None) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord.client").setLevel(logging.ERROR)
    tracker = big_tracker(ITEMS)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_engine(url)
        started = time.perf_counter()
        await fill(engine, session_factory(engine), tracker, events_per_item=EVENTS, guilds=GUILDS)
        await engine.dispose()
        backend = url.split(":")[0]
        print(
            f"store: {ITEMS} items x {EVENTS} events, {GUILDS} guilds' settings "
            f"({backend}; filled in {time.perf_counter() - started:.1f} s)"
        )
        bare: list[float] = []
        status: list[float] = []
        timeline: list[float] = []
        async with DiscordStandIn() as standin:
            guild = standin.add_guild(name="Bench")
            channel = next(iter(guild.channels))
            member = guild.add_member("Bench user")

            async def rtt(name: str, options: dict[str, str | int]) -> float:
                interaction = await standin.invoke(guild.id, channel, member, name, options=options)
                await interaction.response()
                assert interaction.latency is not None
                return interaction.latency

            # Rounds alternate the two bots, so that drift in the machine's speed during the
            # run weighs on both sides alike.
            for _ in range(rounds):
                async with bare_bot(standin, guild.id):
                    bare += await measure(runs, lambda: rtt("ping", {}))
                async with running_bot(standin, database_url=url, tracker=tracker):
                    status += await measure(runs, lambda: rtt("status", {"item": "item-100"}))
                    timeline += await measure(
                        runs, lambda: rtt("timeline", {"item": "item-100", "page": 25})
                    )
            problems = standin.violations

    print(f"{rounds} rounds x {runs} runs per command, each round after 20 warm-up runs")
    b50, _ = summary("bare bot (constant reply)", bare)
    s50, s99 = summary("/status item", status)
    t50, t99 = summary("/timeline page 25", timeline)
    print(f"ratio to bare at p50: /status {s50 / b50:.2f}   /timeline {t50 / b50:.2f}   (<= 1.5)")
    verdict = {True: "yes", False: "NO"}
    print(f"p99 under 50 ms: /status {verdict[s99 < 50]}   /timeline {verdict[t99 < 50]}")
    if problems:
        print(f"stand-in reported {len(problems)} spec violations, e.g. {problems[0]}")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.runs, args.rounds, args.database_url)))
