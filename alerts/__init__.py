"""Risk episodes (thresholds, hysteresis, minimum duration) and their signed webhook delivery through an outbox."""
