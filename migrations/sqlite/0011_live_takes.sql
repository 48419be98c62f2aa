-- Takes to air by hand: an operator takes a channel to a live source now and later returns it
-- to the schedule. A take overlays the channel's planned segments from `start_at` (the first
-- segment boundary no playlist had listed when it was asked for) to `end_at` (likewise, when
-- the return was asked for; NULL while it is on air): each of them airs the live segment
-- captured for it, or slate. After it the schedule joins in progress. Each take and each return
-- bumps the channel's schedule version (a versioned edit); both are kept for the as-run log.
-- Instants are INTEGER 90 kHz ticks since the Unix epoch. Forward-only.
CREATE TABLE live_takes (
    id             INTEGER PRIMARY KEY,
    channel_id     INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    -- The live source by name: the take outlives the source's deletion in the log.
    source         TEXT    NOT NULL,
    start_at       INTEGER NOT NULL,
    -- NULL while on air; equal to start_at for a take returned before it aired.
    end_at         INTEGER,
    taken_by       TEXT    NOT NULL,
    taken_at       INTEGER NOT NULL,
    take_version   INTEGER NOT NULL,
    returned_by    TEXT,
    returned_at    INTEGER,
    return_version INTEGER,
    CHECK (end_at IS NULL OR end_at >= start_at)
);

CREATE INDEX live_takes_channel ON live_takes (channel_id, start_at);

-- At most one take on air per channel.
CREATE UNIQUE INDEX live_takes_open ON live_takes (channel_id) WHERE end_at IS NULL;
