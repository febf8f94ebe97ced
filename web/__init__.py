"""The web server's routes (SPEC §8)."""
