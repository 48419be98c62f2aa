-- Accounts: the people who run the channels, what each may do, and how they prove who they are
-- (a password, optionally a TOTP second factor with recovery codes), with the cookie sessions
-- and API tokens they hold and the failed logins every replica counts against them.
--
-- Nothing that logs someone in is stored in clear: passwords are Argon2id PHC strings, session
-- ids, API tokens and recovery codes are stored as the hex SHA-256 of what the holder presents,
-- so a copy of the database logs nobody in. The TOTP secret is the exception (a code is
-- computed from it), as in every TOTP server. Instants are BIGINT 90 kHz ticks since the Unix
-- epoch. Forward-only: never edit this file once shipped.

CREATE TABLE users (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Lowercase [a-z0-9._-], 1 to 64 characters, as the control plane checks it; unique in any
    -- case all the same (the index below), so that no two people can be told apart by case.
    username       TEXT    NOT NULL,
    -- `$argon2id$v=19$m=…,t=…,p=…$salt$hash`: the parameters travel with the hash, so raising
    -- them later leaves every stored password checkable.
    password_hash  TEXT    NOT NULL,
    -- Base32, set from the moment two-factor sign-in is being turned on.
    totp_secret    TEXT,
    -- When its first code confirmed it; NULL while it is being turned on (or off). Logins ask
    -- for a code only once it is set.
    totp_enabled_at BIGINT,
    -- The last 30-second step a code was accepted for: a code is accepted once.
    totp_last_step BIGINT,
    created_at     BIGINT NOT NULL,
    -- A disabled user logs in no more, and its sessions and tokens stop working.
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL)
);

CREATE UNIQUE INDEX users_username ON users (LOWER(username));

-- What a user may do, on one channel or (channel NULL) on every channel and on what belongs to
-- none (users, ladders). admin implies every role; scheduler and ad_ops imply viewer.
CREATE TABLE user_roles (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'scheduler', 'ad_ops', 'viewer')),
    channel_id BIGINT REFERENCES channels (id) ON DELETE CASCADE
);

-- One grant per user, channel (or every channel) and role: NULLs are distinct in a plain
-- unique index, so every channel counts as channel 0 here (ids start at 1).
CREATE UNIQUE INDEX user_roles_grant ON user_roles (user_id, COALESCE(channel_id, 0), role);
CREATE INDEX user_roles_channel ON user_roles (channel_id);

-- The one-time codes that stand in for a TOTP code when the authenticator is lost: ten, given
-- once when two-factor sign-in is turned on, each usable once.
CREATE TABLE recovery_codes (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   BIGINT,
    UNIQUE (user_id, code_hash)
);

-- Cookie sessions. The id is the SHA-256 of the cookie's token, so the database cannot be
-- replayed as cookies. A session waiting for its second factor (`second_factor_pending`) grants
-- nothing and lives minutes; passing it deletes it and creates a new session, so the id changes
-- at every step of a login. Idle expiry is computed from `last_seen_at`; `expires_at` is the
-- absolute one.
CREATE TABLE sessions (
    id                    TEXT    PRIMARY KEY,
    user_id               BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at            BIGINT NOT NULL,
    last_seen_at          BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    second_factor_pending BOOLEAN NOT NULL DEFAULT FALSE,
    -- The token forms echo back: in clear, since pages embed it, and worthless without the
    -- session's cookie.
    csrf_token            TEXT    NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- API tokens: a user's own credentials for scripts, carrying the user's roles. Shown once at
-- creation; stored as the SHA-256 of the token. Revoked ones are kept for the record.
CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- A name says which token a user revokes: one live token per name.
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (user_id, name) WHERE revoked_at IS NULL;

-- Failed logins, by `user:{username}` and by `peer:{address}`, so that every replica behind a
-- load balancer counts the same failures against the same limits. Rows older than the window
-- are deleted as new ones come.
CREATE TABLE login_failures (
    id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT    NOT NULL,
    at  BIGINT NOT NULL
);

CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
