-- Alert transitions the plant-floor edge recorded while the central database was away
-- (edge/ runs the episode logic locally during an outage). The edge's own id of each
-- transition is the key, so a sync that runs twice, or resumes after a crash, adopts every
-- transition once; the central alert row it landed on is kept beside it.
CREATE TABLE alert_edge_transitions (
    uid         text PRIMARY KEY,
    episode     text NOT NULL,
    alert_id    bigint REFERENCES alerts (id) ON DELETE CASCADE,
    machine_id  integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    rule        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('open', 'escalate', 'resolve')),
    ts          timestamptz NOT NULL,
    adopted_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX alert_edge_transitions_alert ON alert_edge_transitions (alert_id);
