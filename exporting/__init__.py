"""The files the bot hands out: /export's iCalendar, CSV and JSON, and the calendar feed."""
