-- Alerts: episode clocks between evaluations, and endpoints disabled by their receiver.

-- One row per (machine, rule): the minimum-duration and clear clocks of the episode logic
-- (alerts/episodes.py). The episode's severity itself lives in the non-resolved alerts row.
CREATE TABLE alert_episode_state (
    machine_id      integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    rule            text NOT NULL,
    above_since     timestamptz,
    critical_since  timestamptz,
    clear_since     timestamptz,
    last_ts         timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, rule)
);

-- An endpoint answering 410 Gone is disabled until someone re-enables it.
CREATE TABLE webhook_endpoints (
    name             text PRIMARY KEY,
    disabled_at      timestamptz,
    disabled_reason  text
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
CREATE INDEX webhook_deliveries_alert ON webhook_deliveries (alert_id);
CREATE INDEX alerts_state_opened ON alerts (state, opened_at DESC);
