-- Notifications of local users (Mastodon's), written in the transaction of the event that
-- causes them. The unique key makes them idempotent: the same event handled twice (a retried
-- inbox item, a repeated local action) leaves one row. `ref` tells apart events that share
-- the rest of the key: the id of the Update activity for `update`, '' for every other type.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    type TEXT NOT NULL,
    from_account_id INTEGER NOT NULL REFERENCES accounts (id),
    status_id INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    ref TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX notifications_once
    ON notifications (account_id, type, from_account_id, coalesce(status_id, 0), ref);
CREATE INDEX notifications_recipient ON notifications (account_id, id);
CREATE INDEX notifications_status ON notifications (status_id);
