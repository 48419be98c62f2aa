-- The integrated loudness a ladder normalises audio to: 'ebu-r128' (-23 LUFS, the default) or
-- 'atsc-a85' (-24 LKFS). Ladders stored before this column existed were normalised to nothing;
-- they get the default from now on.
ALTER TABLE ladders ADD COLUMN loudness TEXT NOT NULL DEFAULT 'ebu-r128'
    CHECK (loudness IN ('ebu-r128', 'atsc-a85'));
