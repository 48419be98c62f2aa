-- Stitched partners' ad sessions: a session started at a stitched partner's URL
-- (`/p/{partner}/…`) remembers its partner, so every replica decides its breaks from the
-- partner's ad tag and serves it only at that partner's URLs. NULL: a session of the channel's
-- own viewers.
--
-- ON DELETE CASCADE: a deleted partner's URLs answer 404, so its sessions can never be fetched
-- again; they go with it, their decisions and beacons by their own cascades. SET NULL would
-- turn them into the channel's own sessions, holding the partner's ads and beacons. Forward-only.

ALTER TABLE ad_sessions ADD COLUMN partner_id INTEGER REFERENCES partners (id) ON DELETE CASCADE;

CREATE INDEX ad_sessions_partner ON ad_sessions (partner_id) WHERE partner_id IS NOT NULL;
