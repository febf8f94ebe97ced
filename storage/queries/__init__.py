"""Query functions: keyword-only, each taking the session it works in."""
