-- The work-queue page's sessions, kept here so every API process sees a
-- sign-out at once. The cookie holds a random id; this table holds only its
-- SHA-256, so a copy of the table signs nobody in. A session lives as long as
-- the key it was signed in with (ON DELETE CASCADE; a revoked or expired key
-- ends it at the next click, see db/sessions.py).
CREATE TABLE web_sessions (
    session_hash text PRIMARY KEY,
    key_hash     text NOT NULL REFERENCES api_keys ON DELETE CASCADE,
    -- The session's own CSRF token: a form from another session (or none) is refused.
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX web_sessions_by_key ON web_sessions (key_hash) WHERE ended_at IS NULL;

-- A rotated key keeps working until its grace period ends (`sopflow keys rotate`).
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
-- The key that replaced this one, for `sopflow keys list`.
ALTER TABLE api_keys ADD COLUMN replaced_by text REFERENCES api_keys;
