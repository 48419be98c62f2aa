-- Channels managed, not only seeded: an explicit slate, filler, and retirement.
--
-- slate_asset_id: the asset the channel loops when nothing else can air; NULL: the slate
-- generated for it, found by its source key (generated:slate/<slug>), as before. ON DELETE
-- RESTRICT, like schedule_items.asset_id: deleting an asset must never change what a channel
-- airs behind its back (SET NULL would swap the slate without bumping the schedule version, so
-- playout would not plan again and nobody would be told); the store refuses such a deletion
-- and names the channels.
--
-- filler_asset_ids: a JSON array of asset ids, e.g. [12,15]: short assets that fill gaps before
-- the slate does, in order. A foreign key cannot reach into JSON: the store checks that they
-- exist, are ready and are encoded to the channel's ladder whenever the list is written, and
-- refuses to delete an asset a channel lists.
--
-- retired_at: when the channel was retired, in 90 kHz ticks since the Unix epoch; NULL while it
-- is in service. A retired channel is off air and stays off air; its schedule, grid and as-run
-- log are kept.
ALTER TABLE channels ADD COLUMN slate_asset_id BIGINT REFERENCES assets (id) ON DELETE RESTRICT;
ALTER TABLE channels ADD COLUMN filler_asset_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE channels ADD COLUMN retired_at BIGINT;
ALTER TABLE channels ADD CONSTRAINT channels_retired_off_air
    CHECK (retired_at IS NULL OR NOT on_air);

-- What deleting an asset checks, and what names the channels that loop it.
CREATE INDEX channels_slate ON channels (slate_asset_id) WHERE slate_asset_id IS NOT NULL;

-- Which schedule items play asset X from instant T: by asset, then start. It replaces the index
-- on asset_id alone: its prefix serves the foreign key and counting an asset's items as well.
DROP INDEX schedule_items_asset;
CREATE INDEX schedule_items_asset_start ON schedule_items (asset_id, start_at);
