"""News: fetching feeds, reading them, matching and de-duplicating stories."""
