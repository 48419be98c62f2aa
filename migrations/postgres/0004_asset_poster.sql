-- The asset's poster JPEG, relative to the media root; set when the asset is published.
ALTER TABLE assets ADD COLUMN poster_path TEXT;
