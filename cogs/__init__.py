"""The Discord commands, one cog per module."""
