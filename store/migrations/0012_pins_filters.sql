-- Pinned statuses (Mastodon's status_pins). Local users pin their own posts through the API;
-- a remote actor's pins arrive as Add / Remove on its featured collection.
CREATE TABLE status_pins (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    UNIQUE (account_id, status_id)
);
CREATE INDEX status_pins_status ON status_pins (status_id);

-- A follow's options, as the follower chose them: `notify` asks for a `status` notification
-- on each new post of the followed account; `show_reblogs` = 0 keeps its boosts out of home.
ALTER TABLE follows ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;
ALTER TABLE follows ADD COLUMN show_reblogs INTEGER NOT NULL DEFAULT 1;

-- Filters (Mastodon's custom filters, API v2): a title, the contexts it applies in (a
-- comma-separated subset of home,notifications,public,thread,account), what it does
-- ('warn' or 'hide') and an optional expiry; keywords and statuses hang off it.
CREATE TABLE custom_filters (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    title TEXT NOT NULL,
    context TEXT NOT NULL,
    action TEXT NOT NULL DEFAULT 'warn',
    expires_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX custom_filters_account ON custom_filters (account_id, id);

CREATE TABLE custom_filter_keywords (
    id INTEGER PRIMARY KEY,
    filter_id INTEGER NOT NULL REFERENCES custom_filters (id) ON DELETE CASCADE,
    keyword TEXT NOT NULL,
    whole_word INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE INDEX custom_filter_keywords_filter ON custom_filter_keywords (filter_id, id);

CREATE TABLE custom_filter_statuses (
    id INTEGER PRIMARY KEY,
    filter_id INTEGER NOT NULL REFERENCES custom_filters (id) ON DELETE CASCADE,
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    UNIQUE (filter_id, status_id)
);
