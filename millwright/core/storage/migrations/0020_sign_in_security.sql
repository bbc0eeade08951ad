-- Server-side dashboard sessions and sign-in throttling (issue #17).

-- A dashboard session: the cookie carries a random id, the table keeps its SHA-256, so
-- sign-out, a password change, disabling the user or an admin's revoke end it at once.
CREATE TABLE user_sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    address       text
);
CREATE INDEX user_sessions_user ON user_sessions (user_id) WHERE revoked_at IS NULL;

-- Failed sign-ins per account name and per client address; a row whose failures reached the
-- threshold records a lockout (locked_at) until it lapses or an admin lifts it.
CREATE TABLE login_throttle (
    scope             text NOT NULL CHECK (scope IN ('account', 'address')),
    key               text NOT NULL,
    failures          integer NOT NULL,
    first_failure_at  timestamptz NOT NULL,
    last_failure_at   timestamptz NOT NULL,
    locked_at         timestamptz,
    PRIMARY KEY (scope, key)
);

ALTER TABLE users ADD COLUMN password_changed_at timestamptz;
