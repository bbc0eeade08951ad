"""The Dash plant-floor dashboard: overview, machine, schedule and alert pages, sign-in."""
