-- Scheduler API: idempotency keys for POSTs, machine calendars, and a fast queue lookup.

-- One row per (user, Idempotency-Key). status_code is NULL while the first request runs;
-- afterwards the stored response is replayed for the same request and a different request
-- with the same key is refused (409).
CREATE TABLE api_idempotency_keys (
    user_id        integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash   bytea NOT NULL,
    status_code    integer,
    content_type   text,
    response_body  bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX api_idempotency_keys_created ON api_idempotency_keys (created_at);

-- Planned downtime and shift gaps: closed spans [start_at, end_at) no work may overlap.
CREATE TABLE machine_downtime (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_id  integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    start_at    timestamptz NOT NULL,
    end_at      timestamptz NOT NULL CHECK (end_at > start_at),
    reason      text NOT NULL DEFAULT ''
);
CREATE INDEX machine_downtime_machine ON machine_downtime (machine_id, start_at);

-- The worker claims requested schedules oldest first.
CREATE INDEX schedules_requested ON schedules (requested_at) WHERE state = 'requested';
CREATE INDEX risk_scores_machine_latest ON risk_scores (machine_id, ts DESC);
CREATE INDEX jobs_status ON jobs (status) WHERE status IN ('pending', 'in_progress');

-- Who claimed a schedule and when (a crashed worker's claim is re-queued), and the per-request
-- solver time limit.
ALTER TABLE schedules ADD COLUMN claimed_at timestamptz;
ALTER TABLE schedules ADD COLUMN claimed_by text;
ALTER TABLE schedules ADD COLUMN time_limit_s double precision CHECK (time_limit_s > 0);
