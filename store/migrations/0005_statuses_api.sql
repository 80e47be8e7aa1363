-- Client API: bookmarks, and Idempotency-Key of status creation (a retried POST posts once).
CREATE TABLE bookmarks (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, status_id)
);
CREATE INDEX bookmarks_order ON bookmarks (account_id, id);

CREATE TABLE idempotency_keys (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    key TEXT NOT NULL,
    status_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
);
