"""What the bot shows, decided in plain code: messages as Discord JSON dicts, no discord import."""
