-- The delivery queue stores each activity's body once, not once per inbox: a post to 1,000
-- remote inboxes wrote 1,000 copies of its JSON inside the posting transaction (the largest
-- part of that request at scale, measured by the benchmarks). `delivery_bodies` holds the
-- body; each `deliveries` row names it by `activity_uri`.
--
-- Finished rows (sent, gone, cancelled) are pruned after a while; before a row goes, its
-- counts, the host's last success and its latest error are added to `delivery_host_totals`,
-- so `queue status` keeps what an admin needs. Dead rows are never pruned.
--
-- Indexes: the worker leases through `deliveries_active` (only unfinished rows, in the order
-- they are due: an ordered scan that stops after a batch, however long the queue); the
-- pruner finds old finished rows through `deliveries_finished`. The state lists are written
-- exactly as the queries in store/deliveries.py write them (sorted), so SQLite can use these
-- partial indexes.
CREATE TABLE delivery_bodies (
    activity_uri TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

INSERT INTO delivery_bodies (activity_uri, body)
SELECT activity_uri, MIN(body) FROM deliveries GROUP BY activity_uri;

CREATE TABLE deliveries_new (
    id INTEGER PRIMARY KEY,
    activity_uri TEXT NOT NULL REFERENCES delivery_bodies (activity_uri),
    actor_account_id INTEGER NOT NULL REFERENCES accounts (id),
    inbox_url TEXT NOT NULL,
    host TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    locked_until TEXT,
    last_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (activity_uri, inbox_url)
);

INSERT INTO deliveries_new (id, activity_uri, actor_account_id, inbox_url, host, state,
    attempts, next_attempt_at, locked_until, last_status, last_error, created_at, updated_at)
SELECT id, activity_uri, actor_account_id, inbox_url, host, state, attempts, next_attempt_at,
    locked_until, last_status, last_error, created_at, updated_at
FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;

CREATE INDEX deliveries_active ON deliveries (next_attempt_at, id)
WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_finished ON deliveries (updated_at)
WHERE state IN ('cancelled', 'gone', 'sent');
CREATE INDEX deliveries_host ON deliveries (host, state);

CREATE TABLE delivery_host_totals (
    host TEXT PRIMARY KEY,
    sent INTEGER NOT NULL DEFAULT 0,
    gone INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0,
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT
);
