"""What the bot does, between the Discord layer and the store: plain async functions."""
