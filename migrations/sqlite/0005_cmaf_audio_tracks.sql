-- CMAF is packaged as separate tracks from now on: 'cmaf' renditions hold one rung's video only,
-- and 'cmaf-audio' renditions hold AAC only, one per distinct audio bitrate of the ladder (its
-- `rung` is the track's name, e.g. 'audio-96k', and it has no picture: width and height 0).
--
-- Renditions published before this migration are left as they are: their 'cmaf' renditions are
-- muxed (video and audio together) and their assets have no 'cmaf-audio' rendition, which is how
-- playout and `onair demo` tell them apart (such assets must be encoded again for HLS-fMP4 and
-- DASH; MPEG-TS is unchanged).
--
-- SQLite cannot change a CHECK constraint in place, so both tables are rebuilt. Dropping
-- `renditions` while `segments` still referenced it would cascade-delete every segment, so the
-- segments are set aside first and `segments` is rebuilt too, with the same definition.
CREATE TABLE renditions_before_0005 AS SELECT * FROM renditions;
CREATE TABLE segments_before_0005 AS SELECT * FROM segments;
DROP TABLE segments;
DROP TABLE renditions;

CREATE TABLE renditions (
    id                INTEGER PRIMARY KEY,
    asset_id          INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    -- The rung's name, or the audio track's for 'cmaf-audio'.
    rung              TEXT    NOT NULL,
    packaging         TEXT    NOT NULL CHECK (packaging IN ('ts', 'cmaf', 'cmaf-audio')),
    codecs            TEXT    NOT NULL,
    width             INTEGER NOT NULL,
    height            INTEGER NOT NULL,
    peak_bandwidth    INTEGER NOT NULL CHECK (peak_bandwidth >= 0),
    average_bandwidth INTEGER NOT NULL CHECK (average_bandwidth >= 0),
    -- CMAF only: the init segment, relative to the media root.
    init_path         TEXT,
    UNIQUE (asset_id, rung, packaging),
    -- A picture for video renditions, none for audio tracks.
    CHECK (CASE WHEN packaging = 'cmaf-audio' THEN width = 0 AND height = 0
                ELSE width > 0 AND height > 0 END)
);

INSERT INTO renditions (id, asset_id, rung, packaging, codecs, width, height, peak_bandwidth,
                        average_bandwidth, init_path)
SELECT id, asset_id, rung, packaging, codecs, width, height, peak_bandwidth, average_bandwidth,
       init_path
FROM renditions_before_0005;

CREATE TABLE segments (
    rendition_id   INTEGER NOT NULL REFERENCES renditions (id) ON DELETE CASCADE,
    idx            INTEGER NOT NULL CHECK (idx >= 0),
    duration_ticks INTEGER NOT NULL CHECK (duration_ticks > 0),
    size_bytes     INTEGER NOT NULL CHECK (size_bytes >= 0),
    -- Relative to the media root.
    path           TEXT    NOT NULL,
    PRIMARY KEY (rendition_id, idx)
);

INSERT INTO segments (rendition_id, idx, duration_ticks, size_bytes, path)
SELECT rendition_id, idx, duration_ticks, size_bytes, path
FROM segments_before_0005;

DROP TABLE segments_before_0005;
DROP TABLE renditions_before_0005;
