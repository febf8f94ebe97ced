"""The tracker's domain: items, their rule sets, deadlines. Plain code: no I/O, no Discord."""
