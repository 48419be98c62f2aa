-- Live ingest: the sources publishers send to, their state as the ingest node reports it, the
-- segments each publish produced on its grid, and what happened to each source (publishes,
-- losses, refusals).
--
-- Instants are INTEGER 90 kHz ticks since the Unix epoch; durations INTEGER 90 kHz ticks. The
-- rule that makes replicas agree lives in `live_segments`: a segment is one row per source and
-- start (the first writer wins), stamped with when it was recorded, and a channel airs it only
-- when it was recorded by its slot's deadline. Forward-only: never edit this file once shipped.

-- A live source. Grid items name it by `name`; publishers by `stream_key`, a secret that can be
-- rotated without touching the grid. It is encoded to `ladder_id`: the channels that air it
-- must use that ladder.
CREATE TABLE live_sources (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    stream_key     TEXT    NOT NULL UNIQUE,
    ladder_id      INTEGER NOT NULL REFERENCES ladders (id) ON DELETE RESTRICT,
    created_at     INTEGER NOT NULL,
    key_rotated_at INTEGER NOT NULL,
    -- As the ingest node last reported it.
    state          TEXT    NOT NULL DEFAULT 'idle'
                   CHECK (state IN ('idle', 'publishing', 'lost', 'failed')),
    state_since    INTEGER NOT NULL,
    -- Numbers the publishes: each starts a new folder of segments and a new init.
    publish_id     INTEGER NOT NULL DEFAULT 0 CHECK (publish_id >= 0),
    protocol       TEXT    CHECK (protocol IS NULL OR protocol IN ('rtmp', 'srt')),
    peer           TEXT,
    -- The last reason it failed or was lost.
    error          TEXT,
    -- The ingest's figures (lag, dropped frames, real-time factor), a JSON object.
    stats          TEXT,
    -- When the ingest node last reported on it.
    reported_at    INTEGER
);

-- A segment a publish wrote, on every rung of the source's ladder, at
-- `live/{name}/{publish_id}/{rung}/{start}.{ts,m4s}` in the media folder.
CREATE TABLE live_segments (
    source_id      INTEGER NOT NULL REFERENCES live_sources (id) ON DELETE CASCADE,
    start          INTEGER NOT NULL,
    duration_ticks INTEGER NOT NULL CHECK (duration_ticks > 0),
    publish_id     INTEGER NOT NULL CHECK (publish_id >= 1),
    recorded_at    INTEGER NOT NULL,
    PRIMARY KEY (source_id, start)
);

CREATE INDEX live_segments_recorded ON live_segments (recorded_at);

-- What happened to a source: `publish` (began), `end` (the publisher closed), `lost` (it
-- vanished or stalled), `refused` (a publish was refused), `failed` (the encode failed).
CREATE TABLE live_events (
    id        INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES live_sources (id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('publish', 'end', 'lost', 'refused', 'failed')),
    detail    TEXT    NOT NULL
);

CREATE INDEX live_events_source ON live_events (source_id, at);

-- What a complete occurrence of a live item aired, once all its slots were decided: how many
-- runs it was planned as and how many it aired (each a discontinuity), so the discontinuity
-- sequence after it is the same on every replica and after a restart, long after its segments
-- are forgotten. The first writer wins; every replica computes the same numbers.
CREATE TABLE live_airings (
    channel_id   INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    -- When the occurrence starts.
    item_start   INTEGER NOT NULL,
    planned_runs INTEGER NOT NULL CHECK (planned_runs >= 1),
    aired_runs   INTEGER NOT NULL CHECK (aired_runs >= 1),
    PRIMARY KEY (channel_id, item_start)
);
