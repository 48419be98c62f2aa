-- CMAF is packaged as separate tracks from now on: 'cmaf' renditions hold one rung's video only,
-- and 'cmaf-audio' renditions hold AAC only, one per distinct audio bitrate of the ladder (its
-- `rung` is the track's name, e.g. 'audio-96k', and it has no picture: width and height 0).
--
-- Renditions published before this migration are left as they are: their 'cmaf' renditions are
-- muxed (video and audio together) and their assets have no 'cmaf-audio' rendition, which is how
-- playout and `onair demo` tell them apart (such assets must be encoded again for HLS-fMP4 and
-- DASH; MPEG-TS is unchanged).
ALTER TABLE renditions DROP CONSTRAINT renditions_packaging_check;
ALTER TABLE renditions ADD CONSTRAINT renditions_packaging_check
    CHECK (packaging IN ('ts', 'cmaf', 'cmaf-audio'));
ALTER TABLE renditions DROP CONSTRAINT renditions_width_check;
ALTER TABLE renditions DROP CONSTRAINT renditions_height_check;
-- A picture for video renditions, none for audio tracks.
ALTER TABLE renditions ADD CONSTRAINT renditions_picture_check
    CHECK (CASE WHEN packaging = 'cmaf-audio' THEN width = 0 AND height = 0
                ELSE width > 0 AND height > 0 END);
