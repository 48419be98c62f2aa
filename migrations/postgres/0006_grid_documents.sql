-- A channel's grid sources beside its schedule items: weekly templates, blocks, fill rules,
-- the ad policy, asset rights windows and programme metadata, each kept as one JSON document
-- per kind (validated by the API before it is written). Grid edits are check-and-set on
-- channels.schedule_version like schedule edits: `version` is the channel's schedule_version
-- right after the edit, so one counter orders both and a stale editor of either is refused.
-- Every version is kept (who, when, what), so any can be restored; a version's documents take
-- effect from `effective_from`, never earlier than the version before them.
CREATE TABLE grid_documents (
    channel_id     BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    version        BIGINT  NOT NULL,
    kind           TEXT    NOT NULL
        CHECK (kind IN ('templates', 'blocks', 'fill', 'ad_policy', 'rights', 'metadata')),
    author         TEXT    NOT NULL,
    -- 90 kHz ticks since the Unix epoch.
    published_at   BIGINT  NOT NULL,
    effective_from BIGINT  NOT NULL,
    -- The kind's whole document, as JSON.
    body           TEXT    NOT NULL,
    PRIMARY KEY (channel_id, version, kind)
);
