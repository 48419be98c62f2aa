-- The as-run log: every run a channel aired (a programme's content between breaks, the runs of
-- an ad break, filler, slate), from the segment boundary it began on to the one it ended on, as
-- far as recorded. A run is named by its channel and the instant it began: recording it again
-- (a replica, a restart) extends its end instead of adding a row.
-- Instants are INTEGER 90 kHz ticks since the Unix epoch; booleans INTEGER 0 or 1.
CREATE TABLE as_run (
    channel_id           INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    start_at             INTEGER NOT NULL,
    end_at               INTEGER NOT NULL,
    kind                 TEXT    NOT NULL CHECK (kind IN ('programme', 'ad_break', 'filler', 'slate')),
    -- The item the run belongs to; no foreign key: the log outlives edits of the schedule.
    schedule_item_id     INTEGER,
    title                TEXT    NOT NULL,
    asset_id             INTEGER NOT NULL,
    -- Set for the runs of a live event (its fallback, until live ingest exists).
    live_source          TEXT,
    -- Set for the runs of an ad break: its number in the plan and its aired duration in ticks.
    break_number         INTEGER,
    break_duration_ticks INTEGER,
    -- The media sequence number of the run's first segment.
    media_sequence       INTEGER NOT NULL CHECK (media_sequence >= 0),
    -- The channel's schedule version of the plan it aired from.
    schedule_version     INTEGER NOT NULL,
    -- 1 when (part of) it was recorded from the plan after the recorder was down, 0 when the
    -- recorder saw it air.
    recovered            INTEGER NOT NULL CHECK (recovered IN (0, 1)),
    -- When it was first recorded.
    recorded_at          INTEGER NOT NULL,
    PRIMARY KEY (channel_id, start_at),
    CHECK (end_at > start_at)
);

CREATE INDEX as_run_channel_end ON as_run (channel_id, end_at);
