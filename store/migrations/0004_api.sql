-- Client API: profile fields, mutes and timeline read markers.

-- Profile metadata ("fields" in Mastodon's API): up to four name/value pairs, in order.
-- Values are the owner's plain text; the API renders them.
CREATE TABLE account_fields (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (account_id, position)
);

-- Mutes are private to the muting account: they never federate. expires_at NULL = indefinite.
CREATE TABLE mutes (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    target_account_id INTEGER NOT NULL REFERENCES accounts (id),
    notifications INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    UNIQUE (account_id, target_account_id)
);
CREATE INDEX mutes_target ON mutes (target_account_id);

-- Where a reader stopped in a timeline ("home", "notifications"), shared by their apps.
-- version counts the updates, as Mastodon's lock_version does.
CREATE TABLE markers (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    timeline TEXT NOT NULL,
    last_read_id INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, timeline)
);
