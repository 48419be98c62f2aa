-- The as-run log: every run a channel aired (a programme's content between breaks, the runs of
-- an ad break, filler, slate), from the segment boundary it began on to the one it ended on, as
-- far as recorded. A run is named by its channel and the instant it began: recording it again
-- (a replica, a restart) extends its end instead of adding a row.
-- Instants are BIGINT 90 kHz ticks since the Unix epoch.
CREATE TABLE as_run (
    channel_id           BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    start_at             BIGINT  NOT NULL,
    end_at               BIGINT  NOT NULL,
    kind                 TEXT    NOT NULL CHECK (kind IN ('programme', 'ad_break', 'filler', 'slate')),
    -- The item the run belongs to; no foreign key: the log outlives edits of the schedule.
    schedule_item_id     BIGINT,
    title                TEXT    NOT NULL,
    asset_id             BIGINT  NOT NULL,
    -- Set for the runs of a live event (its fallback, until live ingest exists).
    live_source          TEXT,
    -- Set for the runs of an ad break: its number in the plan and its aired duration in ticks.
    break_number         BIGINT,
    break_duration_ticks BIGINT,
    -- The media sequence number of the run's first segment.
    media_sequence       BIGINT  NOT NULL CHECK (media_sequence >= 0),
    -- The channel's schedule version of the plan it aired from.
    schedule_version     BIGINT  NOT NULL,
    -- True when (part of) it was recorded from the plan after the recorder was down, false when
    -- the recorder saw it air.
    recovered            BOOLEAN NOT NULL,
    -- When it was first recorded.
    recorded_at          BIGINT  NOT NULL,
    PRIMARY KEY (channel_id, start_at),
    CHECK (end_at > start_at)
);

CREATE INDEX as_run_channel_end ON as_run (channel_id, end_at);
