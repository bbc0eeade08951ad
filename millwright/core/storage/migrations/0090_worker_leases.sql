-- Workers share the work through leases (millwright/core/leases.py): one row per
-- (role, partition), held by one worker until it expires unless the holder heartbeats.
-- Members record who is alive, so each worker can take its fair share.

CREATE TABLE worker_leases (
    role          text NOT NULL,
    partition     text NOT NULL,
    holder        text,
    expires_at    timestamptz NOT NULL DEFAULT '-infinity',
    acquired_at   timestamptz,
    generation    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (role, partition)
);

CREATE TABLE worker_members (
    worker        text NOT NULL,
    role          text NOT NULL,
    seen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (worker, role)
);
