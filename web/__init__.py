"""The web server's pages and routes (SPEC §8)."""
