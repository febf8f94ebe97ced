"""What the bot shows, decided in plain code: messages as Discord JSON dicts, no discord import.

It reads view data (views/) only, never database rows, and calls no service.
"""
