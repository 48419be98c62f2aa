-- Server-side ad insertion: a channel's ad settings, the creative cache the replicas share, and
-- the ad sessions of players with what was decided for each break and which beacons fired.
--
-- Instants are INTEGER 90 kHz ticks since the Unix epoch; durations INTEGER 90 kHz ticks. The
-- rules that make replicas agree live in the keys: a decision is one per session and break
-- occurrence (the first writer wins), a beacon one per session, break, ad and event (claimed
-- once, then finished). Forward-only: never edit this file once shipped, add a new one.

-- A channel's ad settings, one JSON document per version, written check-and-set on `version`
-- (the primary key refuses a second writer of the same version) and every version kept.
CREATE TABLE ad_configs (
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL CHECK (version >= 1),
    -- The settings as JSON, kept as given.
    document   TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, version)
);

-- Ad creatives transcoded to a ladder, shared by the replicas: the first request of a key on a
-- ladder creates it (pending), a transcode job and its asset are attached, and it ends ready
-- (with the duration that airs) or failed (with the reason). A cache: a ladder takes its
-- creatives with it; a deleted asset leaves its creative without one.
CREATE TABLE creatives (
    -- What names the creative across ad servers, e.g. its VAST creative id or media URL.
    creative_key   TEXT    NOT NULL,
    ladder_id      INTEGER NOT NULL REFERENCES ladders (id) ON DELETE CASCADE,
    -- Where its media comes from.
    source_url     TEXT    NOT NULL,
    asset_id       INTEGER REFERENCES assets (id) ON DELETE SET NULL,
    -- The transcode job making the asset; no foreign key: jobs are a queue, not a record.
    job_id         INTEGER,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    error          TEXT,
    duration_ticks INTEGER CHECK (duration_ticks IS NULL OR duration_ticks > 0),
    created_at     INTEGER NOT NULL,
    -- When it was requested, became ready or failed.
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (creative_key, ladder_id),
    CHECK (status <> 'ready' OR duration_ticks IS NOT NULL)
);

CREATE INDEX creatives_pending ON creatives (created_at) WHERE status = 'pending';
CREATE INDEX creatives_asset ON creatives (asset_id) WHERE asset_id IS NOT NULL;

-- A player's ad session on a channel: what the ad server is told about it (`params`, a JSON
-- object), and when it was last seen, so idle ones can expire.
CREATE TABLE ad_sessions (
    id         TEXT    PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    params     TEXT    NOT NULL,
    client_ip  TEXT,
    user_agent TEXT,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);

CREATE INDEX ad_sessions_last_seen ON ad_sessions (last_seen);
CREATE INDEX ad_sessions_channel ON ad_sessions (channel_id);

-- What fills one occurrence of a break (named by the instant it starts) for one session: the
-- first replica to write it wins, the others read it back.
CREATE TABLE ad_decisions (
    session_id           TEXT    NOT NULL REFERENCES ad_sessions (id) ON DELETE CASCADE,
    break_start          INTEGER NOT NULL,
    -- The session's channel, copied: decisions are listed by channel and break.
    channel_id           INTEGER NOT NULL,
    break_duration_ticks INTEGER NOT NULL CHECK (break_duration_ticks > 0),
    decided_at           INTEGER NOT NULL,
    -- The ads that fill it, as JSON.
    fill                 TEXT    NOT NULL,
    PRIMARY KEY (session_id, break_start)
);

-- Replicas catch up in (decided_at, session_id, break_start) order.
CREATE INDEX ad_decisions_decided ON ad_decisions (decided_at, session_id, break_start);
CREATE INDEX ad_decisions_channel_break ON ad_decisions (channel_id, break_start);

-- A tracking event (impression, start, quartiles, complete…) of one ad of a break for a
-- session: claimed once ('firing') by the replica that fires its URLs, then 'sent' or 'failed'.
CREATE TABLE ad_beacons (
    session_id  TEXT    NOT NULL REFERENCES ad_sessions (id) ON DELETE CASCADE,
    break_start INTEGER NOT NULL,
    -- The ad's place in the break, from 0.
    ad_position INTEGER NOT NULL CHECK (ad_position >= 0),
    event       TEXT    NOT NULL,
    -- How many tracking URLs the event has.
    url_count   INTEGER NOT NULL CHECK (url_count >= 0),
    status      TEXT    NOT NULL CHECK (status IN ('firing', 'sent', 'failed')),
    attempts    INTEGER NOT NULL CHECK (attempts >= 0),
    error       TEXT,
    claimed_at  INTEGER NOT NULL,
    finished_at INTEGER,
    -- The session's channel, copied: beacons are counted by channel and break.
    channel_id  INTEGER NOT NULL,
    PRIMARY KEY (session_id, break_start, ad_position, event),
    CHECK ((status = 'firing') = (finished_at IS NULL))
);

CREATE INDEX ad_beacons_channel_break ON ad_beacons (channel_id, break_start);
