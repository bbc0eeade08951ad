"""Feature definitions (a versioned registry), incremental and backfill feature jobs, and labels (failure within horizon, remaining useful life) from events."""
