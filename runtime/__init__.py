"""The process around the bot: start-up, logging, the --check report."""
