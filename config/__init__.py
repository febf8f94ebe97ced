"""Configuration: the validated settings and the tracked items."""

from config.errors import ConfigError

__all__ = ["ConfigError"]
