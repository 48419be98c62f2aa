-- Every published version of a channel's schedule: who published it, when, and the whole
-- schedule it left (items with their ad breaks) as JSON, so that any version can be restored.
-- `version` is the channel's schedule_version right after the publication.
CREATE TABLE schedule_versions (
    channel_id   BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    version      BIGINT  NOT NULL,
    author       TEXT    NOT NULL,
    -- 90 kHz ticks since the Unix epoch.
    published_at BIGINT  NOT NULL,
    -- A JSON array of {asset_id, start, hard_start, title, ad_breaks: [{offset, duration}]}.
    items        TEXT    NOT NULL,
    PRIMARY KEY (channel_id, version)
);
