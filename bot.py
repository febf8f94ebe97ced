"""motionwatch: a Discord bot that tracks a motion and an agreement's renewal.

This file only builds the parts (settings, logging, database, HTTP client,
scheduler) and hands them to the bot; everything else lives in the packages.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from config.errors import ConfigError
from config.settings import Settings, load_settings
from config.tracker import TrackerConfig, load_tracker
from runtime.logs import configure_logging

log = logging.getLogger("motionwatch")

USER_AGENT = "motionwatch (+https://github.com/motionwatch/motionwatch)"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
DEMO_NEEDS_STANDIN = (
    "--demo runs the bot against the Discord stand-in, which is not installed: "
    "python -m pip install -e ./standin (see the README's Quickstart)"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--demo",
        action="store_true",
        help="run the real bot against the bundled local Discord stand-in (no token, no "
        "network) and print a short session as a member would read it",
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="migrate the database, load and validate the configuration, print each item's "
        "state and next deadline, and exit without connecting",
    )
    mode.add_argument(
        "--web",
        action="store_true",
        help="serve only the web pages on WEB_PORT (or PORT), without connecting to Discord "
        "(no token needed); the database is migrated first, as --check does",
    )
    parser.add_argument(
        "--now",
        type=_instant,
        default=None,
        help="with --check: the instant to compute at (ISO 8601 with an offset); default: now",
    )
    return parser.parse_args(argv)


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' needs an offset, e.g. +09:00 or Z")
    return value.astimezone(UTC)


def load_configuration(*, require_token: bool) -> tuple[Settings, TrackerConfig]:
    """Settings and tracked items, or ConfigError listing every problem in both."""
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = load_settings(require_token=require_token)
    except ConfigError as exc:
        problems.extend(exc.problems)
    tracker: TrackerConfig | None = None
    try:
        tracker = load_tracker(
            settings.tracker_config if settings else Settings.model_fields["tracker_config"].default
        )
    except ConfigError as exc:
        problems.extend(f"TRACKER_CONFIG: {line}" for line in exc.problems)
    if problems or settings is None or tracker is None:
        raise ConfigError(problems)
    return settings, tracker


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings, tracker = load_configuration(
            require_token=not (args.check or args.demo or args.web)
        )
        if args.web and settings.web_port is None:
            raise ConfigError(["WEB_PORT: required with --web (PORT is read too when it is unset)"])
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    token = settings.discord_token.get_secret_value() if settings.discord_token else ""
    configure_logging(settings.log_level, secrets=[token])

    try:
        if args.check:
            from runtime.check import run_check

            now = args.now or datetime.now(UTC)
            lines = asyncio.run(run_check(settings, tracker, now=now))
            print("\n".join(lines))
            return EXIT_OK

        if args.web:
            from runtime.web import run_web

            assert settings.web_port is not None  # checked above
            return asyncio.run(run_web(settings, tracker, port=settings.web_port))

        if args.demo:
            try:
                from demo.session import run_demo
            except ModuleNotFoundError as exc:
                # The stand-in is a distribution of its own (standin/), which `pip install .`
                # alone leaves out.
                if exc.name != "motionwatch_standin":
                    raise
                print(DEMO_NEEDS_STANDIN, file=sys.stderr)
                return EXIT_FAILURE

            return asyncio.run(run_demo(settings, tracker))

        return asyncio.run(run(settings, tracker, token))
    except Exception as exc:
        from runtime.dbfaults import describe_demo_storage_fault, describe_storage_fault

        if args.demo:
            fault = describe_demo_storage_fault(exc)
        else:
            fault = describe_storage_fault(exc, settings.database_url)
        if fault is None:
            raise
        log.debug("stopping on a storage fault", exc_info=exc)
        print(fault, file=sys.stderr)
        return EXIT_FAILURE


async def run(settings: Settings, tracker: TrackerConfig, token: str) -> int:
    """Build the parts, hand them to the bot, and run until SIGINT/SIGTERM or a fatal error."""
    import discord

    from discordbot.bot import point_at
    from discordbot.sharding import make_bot
    from news.http import feed_client
    from services.build import build_services

    point_at(settings.discord_api_base, settings.discord_gateway_url)
    # The feed client connects only to addresses the SSRF guard checked, at every hop and
    # every new connection; redirects are followed by the fetcher, and no proxy is used.
    async with feed_client(
        user_agent=USER_AGENT,
        allow_private=settings.allow_private_sources,
        max_connections=32,
        timeout=15.0,
    ) as http:
        services = build_services(settings, tracker, http=http)
        bot = make_bot(services)
        if settings.shard_count is None:
            log.info("gateway: all guilds, on the shard count Discord recommends")
        else:
            log.info("gateway: %s", settings.shards)
        try:
            return await _run_until_stopped(bot, token)
        except discord.LoginFailure:
            print("DISCORD_TOKEN: Discord refused the token (401 Unauthorized)", file=sys.stderr)
            return EXIT_CONFIG
        except discord.PrivilegedIntentsRequired as exc:
            print(
                f"DISCORD_TOKEN: the application lacks a privileged intent: {exc}", file=sys.stderr
            )
            return EXIT_CONFIG
        finally:
            await services.engine.dispose()


async def _run_until_stopped(bot: Any, token: str) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with bot:
        runner = asyncio.create_task(bot.start(token), name="discord-client")
        stopper = asyncio.create_task(stop.wait(), name="signal-wait")
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            stopper.cancel()
            runner.result()  # re-raises what stopped the client
            return EXIT_OK
        log.info("stopping on signal")
        if not bot.set_up:
            # Still starting: nothing is running yet that a clean close would let finish,
            # and every start-up step is a transaction, so cutting it short loses nothing.
            runner.cancel()
            await asyncio.wait({runner})
        await bot.close()
        await asyncio.wait({runner}, timeout=10)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
