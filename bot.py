"""motionwatch: a Discord bot that tracks a motion and an agreement's renewal.

This file only builds the parts (settings, logging, database, HTTP client,
scheduler) and hands them to the bot; everything else lives in the packages.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from config.errors import ConfigError
from config.settings import Settings, load_settings
from config.tracker import TrackerConfig, load_tracker
from runtime.logs import configure_logging

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="migrate the database, load and validate the configuration, print each item's "
        "state and next deadline, and exit without connecting",
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
        settings, tracker = load_configuration(require_token=not args.check)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    token = settings.discord_token.get_secret_value() if settings.discord_token else ""
    configure_logging(settings.log_level, secrets=[token])

    if args.check:
        from runtime.check import run_check

        now = args.now or datetime.now(UTC)
        try:
            lines = asyncio.run(run_check(settings, tracker, now=now))
        except (OSError, ConnectionError) as exc:
            print(f"DATABASE_URL: cannot open the database: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        print("\n".join(lines))
        return EXIT_OK

    print("connecting to Discord is not part of this build yet; use --check", file=sys.stderr)
    return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
