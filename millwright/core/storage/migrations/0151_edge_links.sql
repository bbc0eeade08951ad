-- The plant-floor edges the centre has heard from, and how far each has handed its work
-- over. Scores of an edge's machines newer than its hand-over (``covered_until``, plant time)
-- come from an outage the edge may have alerted on already: the centre's own evaluation holds
-- them until the edge has synced, or for at most ``alerts.edge_hold_s`` after it first held
-- them (``holding_since``, with ``holding_until`` the newest held), so the plant LAN hears of
-- an episode once whichever side scores the replayed readings first.
CREATE TABLE edge_links (
    edge_id        text PRIMARY KEY,
    machine_ids    integer[] NOT NULL,
    covered_until  timestamptz,
    seen_at        timestamptz NOT NULL,
    holding_since  timestamptz,
    holding_until  timestamptz
);
