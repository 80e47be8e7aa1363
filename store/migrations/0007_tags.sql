-- Hashtags a local account follows (Mastodon's followed tags), by lower-cased name. The row
-- id pages `/api/v1/followed_tags`.
CREATE TABLE followed_tags (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX followed_tags_once ON followed_tags (account_id, name);
