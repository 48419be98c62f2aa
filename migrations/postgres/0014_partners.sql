-- Partners: the platforms (Samsung TV Plus, Pluto TV, Roku, Wurl…) that pull channels at their
-- own URLs, `/p/{partner}/{slug}/…`, with the outputs, cue dialect and ad mode each expects, and
-- the keys their signed URLs are checked against.
--
-- A partner's settings (channels, outputs, EPG format, ad mode) are one JSON object the control
-- plane checks before it stores it; every write bumps `version` (check-and-set) and names its
-- author. Keys are kept in clear: a signature is computed from them. Instants are BIGINT 90 kHz
-- ticks since the Unix epoch. Forward-only: never edit this file once shipped.

CREATE TABLE partners (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Lowercase [a-z0-9-], as the control plane checks it: the `{partner}` of its URLs.
    name         TEXT    NOT NULL UNIQUE CHECK (name <> ''),
    display_name TEXT    NOT NULL,
    settings     TEXT    NOT NULL,
    version      BIGINT  NOT NULL CHECK (version >= 1),
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    updated_by   TEXT    NOT NULL
);

-- A partner's signing keys, numbered from 1. The newest has no expiry; a rotation gives the
-- ones before it the end of their overlap, and drops those already past it.
CREATE TABLE partner_keys (
    partner_id BIGINT NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    key_id     BIGINT  NOT NULL CHECK (key_id >= 1),
    secret     TEXT    NOT NULL CHECK (secret <> ''),
    created_at BIGINT  NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (partner_id, key_id)
);
