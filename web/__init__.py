"""The read-only web pages (SPEC §8): the shared items, an item's status and timeline, /healthz.

Server-rendered HTML from Jinja2 templates beside this package. ``pages`` builds what a page
shows (plain data, no HTML); ``app`` serves it; ``serve`` runs it beside the bot or alone.
Nothing here imports discord: the pages read through services/ as the commands do.
"""
