"""``python bot.py --demo``: the real bot against the bundled stand-in, played and printed."""
