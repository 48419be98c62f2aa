-- Slate now: a take to air without a live source airs the channel's slate for every slot from
-- its start to its return (an operator's emergency: a bad programme, a takedown, a broken
-- feed). `source` becomes nullable: NULL is the channel's slate. SQLite cannot drop a NOT NULL
-- constraint in place, so the table is rebuilt with its rows, ids, indexes and checks.
-- Forward-only.
CREATE TABLE live_takes_new (
    id             INTEGER PRIMARY KEY,
    channel_id     INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    -- The live source by name (the take outlives the source's deletion in the log); NULL for
    -- the channel's slate.
    source         TEXT,
    start_at       INTEGER NOT NULL,
    -- NULL while on air; equal to start_at for a take returned before it aired.
    end_at         INTEGER,
    taken_by       TEXT    NOT NULL,
    taken_at       INTEGER NOT NULL,
    take_version   INTEGER NOT NULL,
    returned_by    TEXT,
    returned_at    INTEGER,
    return_version INTEGER,
    CHECK (end_at IS NULL OR end_at >= start_at),
    CHECK (source IS NULL OR source <> '')
);

INSERT INTO live_takes_new (id, channel_id, source, start_at, end_at, taken_by, taken_at,
                            take_version, returned_by, returned_at, return_version)
SELECT id, channel_id, source, start_at, end_at, taken_by, taken_at, take_version, returned_by,
       returned_at, return_version
FROM live_takes;

DROP TABLE live_takes;
ALTER TABLE live_takes_new RENAME TO live_takes;

CREATE INDEX live_takes_channel ON live_takes (channel_id, start_at);

-- At most one take on air per channel.
CREATE UNIQUE INDEX live_takes_open ON live_takes (channel_id) WHERE end_at IS NULL;
