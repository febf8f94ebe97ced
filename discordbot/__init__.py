"""The Discord side: the bot class, its command tree's translator, sync and error handling."""
