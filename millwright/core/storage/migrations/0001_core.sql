-- Millwright core schema: the shape and keys every stage relies on.
-- Time-series tables (readings, features, risk_scores) become hypertables when TimescaleDB
-- is present (millwright/storage/timescale.py); here they are plain tables with indexes.

CREATE TABLE machines (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    line          text,
    machine_class text,
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'down', 'maintenance', 'offline')),
    status_since  timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sensors (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_id  integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    name        text NOT NULL,
    unit        text,
    source      text,
    address     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (machine_id, name)
);

-- Narrow readings; a re-delivered sample is a no-op thanks to the unique key.
-- quality: 0 good, 1 uncertain, 2 bad; bit 8 set when ts is the receive time.
CREATE TABLE readings (
    ts          timestamptz NOT NULL,
    machine_id  integer NOT NULL,
    sensor_id   integer NOT NULL,
    value       double precision NOT NULL,
    quality     smallint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX readings_machine_sensor_ts ON readings (machine_id, sensor_id, ts);

CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts          timestamptz NOT NULL,
    machine_id  integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN (
                    'failure', 'repair', 'maintenance', 'error', 'gap', 'offline', 'online')),
    ends_at     timestamptz,
    source      text NOT NULL DEFAULT 'unknown',
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (machine_id, kind, ts, source)
);
CREATE INDEX events_machine_ts ON events (machine_id, ts);

CREATE TABLE features (
    ts          timestamptz NOT NULL,
    machine_id  integer NOT NULL,
    version     text NOT NULL,
    values      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX features_machine_version_ts ON features (machine_id, version, ts);

CREATE TABLE models (
    id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version          text NOT NULL UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    trained_from     timestamptz,
    trained_to       timestamptz,
    feature_version  text NOT NULL,
    params           jsonb NOT NULL DEFAULT '{}'::jsonb,
    metrics          jsonb NOT NULL DEFAULT '{}'::jsonb,
    artifact         jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'candidate'
                     CHECK (status IN ('candidate', 'active', 'retired')),
    promoted_at      timestamptz
);
CREATE UNIQUE INDEX models_one_active ON models ((status)) WHERE status = 'active';

CREATE TABLE risk_scores (
    ts             timestamptz NOT NULL,
    machine_id     integer NOT NULL,
    model_version  text NOT NULL,
    horizon_hours  double precision NOT NULL,
    p_fail         double precision NOT NULL CHECK (p_fail BETWEEN 0 AND 1),
    rul            double precision,
    rul_low        double precision,
    top_features   jsonb NOT NULL DEFAULT '[]'::jsonb,
    drift          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE UNIQUE INDEX risk_scores_machine_ts_model ON risk_scores (machine_id, ts, model_version);

CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id  text NOT NULL UNIQUE,
    release_at   timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,
    weight       double precision NOT NULL DEFAULT 1 CHECK (weight >= 0),
    value        double precision NOT NULL DEFAULT 0 CHECK (value >= 0),
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'in_progress', 'done', 'cancelled')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq           integer NOT NULL CHECK (seq >= 0),
    name          text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'in_progress', 'done', 'cancelled')),
    machine_id    integer REFERENCES machines (id),
    started_at    timestamptz,
    finished_at   timestamptz,
    UNIQUE (job_id, seq)
);

-- Eligible machines of an operation and its duration on each.
CREATE TABLE operation_options (
    operation_id  bigint NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    machine_id    integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    duration_s    integer NOT NULL CHECK (duration_s > 0),
    PRIMARY KEY (operation_id, machine_id)
);

CREATE TABLE schedules (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    requested_by  text,
    state         text NOT NULL DEFAULT 'requested'
                  CHECK (state IN ('requested', 'solving', 'done', 'failed')),
    solver_status text,
    objective     double precision,
    bound         double precision,
    runtime_s     double precision,
    plan_start    timestamptz,
    is_current    boolean NOT NULL DEFAULT false,
    summary       jsonb NOT NULL DEFAULT '{}'::jsonb,
    error         text,
    finished_at   timestamptz
);
CREATE UNIQUE INDEX schedules_one_current ON schedules ((is_current)) WHERE is_current;

CREATE TABLE schedule_assignments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id   bigint NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('operation', 'maintenance')),
    operation_id  bigint REFERENCES operations (id) ON DELETE CASCADE,
    machine_id    integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    start_at      timestamptz NOT NULL,
    end_at        timestamptz NOT NULL CHECK (end_at >= start_at),
    reason        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX schedule_assignments_schedule_machine
    ON schedule_assignments (schedule_id, machine_id, start_at);

CREATE TABLE alerts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_id    integer NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    rule          text NOT NULL,
    severity      text NOT NULL CHECK (severity IN ('warning', 'critical')),
    state         text NOT NULL CHECK (state IN ('open', 'escalated', 'resolved')),
    opened_at     timestamptz NOT NULL,
    escalated_at  timestamptz,
    resolved_at   timestamptz,
    acked_at      timestamptz,
    acked_by      text,
    p_fail        double precision,
    rul_low       double precision,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE UNIQUE INDEX alerts_one_open_per_rule ON alerts (machine_id, rule) WHERE state <> 'resolved';

-- Webhook outbox: one row per (alert notification, endpoint); id is the receiver's idempotency key.
CREATE TABLE webhook_deliveries (
    id               text PRIMARY KEY,
    alert_id         bigint REFERENCES alerts (id) ON DELETE SET NULL,
    endpoint         text NOT NULL,
    event_type       text NOT NULL,
    payload          jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'dead', 'disabled')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    last_error       text
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    status_code   integer,
    latency_ms    double precision,
    error         text
);

CREATE TABLE dead_letters (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    source       text NOT NULL,
    topic        text,
    payload      bytea,
    reason       text NOT NULL
);
CREATE INDEX dead_letters_received ON dead_letters (received_at);

CREATE TABLE users (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username       text NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    roles          text[] NOT NULL DEFAULT '{viewer}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled       boolean NOT NULL DEFAULT false
);

CREATE TABLE api_tokens (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    token_hash    bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
