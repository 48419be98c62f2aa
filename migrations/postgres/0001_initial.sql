-- onair's schema for PostgreSQL: the same tables as migrations/sqlite, in PostgreSQL types.
--
-- Instants are BIGINT 90 kHz ticks since the Unix epoch (UTC); durations are BIGINT 90 kHz
-- ticks. Forward-only: never edit a migration that has shipped, add a new one.

CREATE TABLE ladders (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                   TEXT    NOT NULL UNIQUE,
    frame_rate_num         BIGINT NOT NULL CHECK (frame_rate_num > 0),
    frame_rate_den         BIGINT NOT NULL CHECK (frame_rate_den > 0),
    segment_duration_ticks BIGINT NOT NULL CHECK (segment_duration_ticks > 0),
    audio_sample_rate      BIGINT NOT NULL CHECK (audio_sample_rate > 0),
    audio_channels         BIGINT NOT NULL CHECK (audio_channels > 0)
);

-- The rungs of a ladder, highest first (`position` 0).
CREATE TABLE ladder_rungs (
    ladder_id        BIGINT NOT NULL REFERENCES ladders (id) ON DELETE CASCADE,
    position         BIGINT NOT NULL CHECK (position >= 0),
    name             TEXT    NOT NULL,
    width            BIGINT NOT NULL CHECK (width > 0),
    height           BIGINT NOT NULL CHECK (height > 0),
    video_bitrate    BIGINT NOT NULL CHECK (video_bitrate > 0),
    h264_profile_idc BIGINT NOT NULL CHECK (h264_profile_idc BETWEEN 0 AND 255),
    h264_level_idc   BIGINT NOT NULL CHECK (h264_level_idc BETWEEN 0 AND 255),
    audio_bitrate    BIGINT NOT NULL CHECK (audio_bitrate > 0),
    PRIMARY KEY (ladder_id, position),
    UNIQUE (ladder_id, name)
);

CREATE TABLE channels (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug              TEXT    NOT NULL UNIQUE,
    name              TEXT    NOT NULL,
    -- An IANA zone name, e.g. Europe/Paris.
    time_zone         TEXT    NOT NULL,
    ladder_id         BIGINT NOT NULL REFERENCES ladders (id) ON DELETE RESTRICT,
    -- A JSON array of output formats, e.g. ["hls-ts","dash"].
    outputs           TEXT    NOT NULL,
    window_segments   BIGINT NOT NULL CHECK (window_segments > 0),
    grid_repeat_ticks BIGINT CHECK (grid_repeat_ticks IS NULL OR grid_repeat_ticks > 0),
    on_air            BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bumped by every change to the channel's schedule, so playout can poll cheaply.
    schedule_version  BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX channels_ladder ON channels (ladder_id);

CREATE TABLE assets (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title          TEXT    NOT NULL,
    -- Where it came from: a path or URL.
    source         TEXT    NOT NULL,
    ladder_id      BIGINT NOT NULL REFERENCES ladders (id) ON DELETE RESTRICT,
    state          TEXT    NOT NULL CHECK (state IN ('processing', 'ready', 'failed')),
    -- The sum of the segment durations; 0 until published.
    duration_ticks BIGINT NOT NULL DEFAULT 0 CHECK (duration_ticks >= 0),
    error          TEXT,
    -- Stamped by the database clock, for people: nothing decides on it.
    created_at     BIGINT NOT NULL DEFAULT (CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT) * 90)
);

CREATE INDEX assets_source ON assets (source, id);
CREATE INDEX assets_ladder ON assets (ladder_id);

-- One rung of an asset in one packaging.
CREATE TABLE renditions (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id          BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    rung              TEXT    NOT NULL,
    packaging         TEXT    NOT NULL CHECK (packaging IN ('ts', 'cmaf')),
    codecs            TEXT    NOT NULL,
    width             BIGINT NOT NULL CHECK (width > 0),
    height            BIGINT NOT NULL CHECK (height > 0),
    peak_bandwidth    BIGINT NOT NULL CHECK (peak_bandwidth >= 0),
    average_bandwidth BIGINT NOT NULL CHECK (average_bandwidth >= 0),
    -- CMAF only: the init segment, relative to the media root.
    init_path         TEXT,
    UNIQUE (asset_id, rung, packaging)
);

CREATE TABLE segments (
    rendition_id   BIGINT NOT NULL REFERENCES renditions (id) ON DELETE CASCADE,
    idx            BIGINT NOT NULL CHECK (idx >= 0),
    duration_ticks BIGINT NOT NULL CHECK (duration_ticks > 0),
    size_bytes     BIGINT NOT NULL CHECK (size_bytes >= 0),
    -- Relative to the media root.
    path           TEXT    NOT NULL,
    PRIMARY KEY (rendition_id, idx)
);

CREATE TABLE schedule_items (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    asset_id   BIGINT NOT NULL REFERENCES assets (id) ON DELETE RESTRICT,
    start_at   BIGINT NOT NULL,
    hard_start BOOLEAN NOT NULL,
    title      TEXT    NOT NULL
);

CREATE INDEX schedule_items_channel_start ON schedule_items (channel_id, start_at);
CREATE INDEX schedule_items_asset ON schedule_items (asset_id);

CREATE TABLE ad_breaks (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_item_id BIGINT NOT NULL REFERENCES schedule_items (id) ON DELETE CASCADE,
    offset_ticks     BIGINT NOT NULL CHECK (offset_ticks >= 0),
    duration_ticks   BIGINT NOT NULL CHECK (duration_ticks > 0)
);

CREATE INDEX ad_breaks_schedule_item ON ad_breaks (schedule_item_id, offset_ticks);

-- The work queue. A running job is leased to `worker` until `lease_expires_at`.
CREATE TABLE jobs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- JSON: what the job works on.
    payload          TEXT    NOT NULL,
    progress_percent BIGINT NOT NULL DEFAULT 0 CHECK (progress_percent BETWEEN 0 AND 100),
    attempts         BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     BIGINT NOT NULL CHECK (max_attempts > 0),
    error            TEXT,
    log_tail         TEXT    NOT NULL DEFAULT '',
    worker           TEXT,
    lease_expires_at BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- What claim_job scans: queued jobs in order, and running jobs whose lease may have expired.
CREATE INDEX jobs_queued ON jobs (id) WHERE state = 'queued';
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE state = 'running';
